#!/usr/bin/perl

# Tests for the helicone response cache, Redis backend: every behaviour
# of t/cache.t with a real redis-server, and the entries where Redis
# keeps them (hash-tagged, with their TTL).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use HgRedis;
use HgCacheTests;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;
plan(skip_all => 'redis-server not installed') unless HgRedis->available;

my $redis = HgRedis->start($t);
my $port = $redis->port;

HgCacheTests::run($t, "helicone_store redis url=redis://127.0.0.1:$port "
                      . "timeout=2s;");

my @keys = $redis->keys('helicone:{cache:*');
ok(@keys > 3, 'redis - the entries are in Redis');
like($keys[0], qr/^helicone:\{cache:[0-9a-f]{64}\}:\d+$/,
     'redis - hash-tagged names, one slot per key');
my $ttl = $redis->cmd('TTL', $keys[0]);
ok($ttl > 0 && $ttl <= 604800, 'redis - with a TTL');

# a max-age too large for any integer is as long as the cap (365 days),
# not ignored (7 days)
my %before = map { $_ => 1 } $redis->keys('helicone:{cache:*');
my $r = $t->chat(port => $t->port('gw'),
                 headers => [ [ 'Helicone-Cache-Enabled', 'true' ],
                              [ 'Cache-Control',
                                'max-age=99999999999999999999' ] ],
                 json => { model => 'gpt-4o-mini', user => 'forever',
                           messages => [ { role => 'user',
                                           content => 'hi' } ] });
my @new;
ok($t->wait_for(sub {
       @new = grep { !$before{$_} } $redis->keys('helicone:{cache:*') }),
   'huge max-age - stored');
$ttl = @new ? $redis->cmd('TTL', $new[0]) : 0;
ok($ttl > 364 * 86400 && $ttl <= 365 * 86400,
   'huge max-age - capped at 365 days') or diag("TTL $ttl");

$t->stop;
$t->check_no_alerts;

done_testing;

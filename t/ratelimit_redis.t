#!/usr/bin/perl

# Tests for helicone rate limits, Redis backend: every behaviour of
# t/ratelimit.t with a real redis-server (one Lua script per check, so N
# parallel requests against a quota of L let exactly L through), the
# buckets in Redis with their TTL, and a flushed script loaded again.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use HgRedis;
use HgRatelimitTests;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;
plan(skip_all => 'redis-server not installed') unless HgRedis->available;

my $redis = HgRedis->start($t);
my $port = $redis->port;

HgRatelimitTests::run($t, "helicone_store redis url=redis://127.0.0.1:$port "
                          . "timeout=2s prefix=hg;");

my @keys = $redis->keys('hg:rl:*');
ok(@keys >= 5, 'redis - the buckets are in Redis, under the prefix');
like($keys[0], qr/^hg:rl:[0-9a-f]{64}$/, 'redis - one key per bucket');

my $ttl = $redis->cmd('TTL', $keys[0]);
ok($ttl > 0 && $ttl <= 2 * 31536000, 'redis - buckets expire');

my $b = $redis->cmd('HGETALL', $keys[0]);
my %b = @$b;
ok(exists $b{t} && exists $b{u} && exists $b{c},
   'redis - tokens, updated, capacity');

# the scripts flushed behind our back: EVAL, then loaded again

$redis->cmd('SCRIPT', 'FLUSH');

my $r = $t->chat(port => $t->port('gw'), path => '/v1/chat/completions',
                 headers => [ [ 'Helicone-RateLimit-Policy', '4;w=61' ] ],
                 json => { model => 'gpt-4o-mini',
                           messages => [ { role => 'user',
                                           content => 'hi' } ] });
is($r->{status}, 200, 'noscript - still checked');
is($r->{headers}{'helicone-ratelimit-remaining'}, '3',
   'noscript - and counted');

# flushed again at once: still checked, and said once per 10 s
$redis->cmd('SCRIPT', 'FLUSH');
$r = $t->chat(port => $t->port('gw'), path => '/v1/chat/completions',
              headers => [ [ 'Helicone-RateLimit-Policy', '4;w=61' ] ],
              json => { model => 'gpt-4o-mini',
                        messages => [ { role => 'user', content => 'hi' } ] });
is($r->{headers}{'helicone-ratelimit-remaining'}, '2',
   'noscript again - counted');
my @told = $t->error_log =~ /script \w+ not loaded, sent it again/g;
is(scalar @told, 1, 'noscript - told once for two flushes in 10 s');

$t->stop;
$t->check_no_alerts;

done_testing;

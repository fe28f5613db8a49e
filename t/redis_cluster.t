#!/usr/bin/perl

# Tests for the Redis store on a Redis Cluster of three masters: the
# gateway learns the slot map from one node, sends each command to its
# slot's node (buckets and cache entries spread over the three), and
# follows a slot being resharded: ASK while it migrates, MOVED once it
# moved, after which the map is asked for again and no more redirects
# come.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use HgRedis;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;
plan(skip_all => 'redis-server not installed') unless HgRedis->available;
plan(skip_all => 'redis-cli not installed') unless -x '/usr/bin/redis-cli';

my @nodes = HgRedis->cluster($t, 3, 0);

my $seed = $nodes[0]->port;

HgRedis->gateway("url=redis://127.0.0.1:$seed cluster=on timeout=2s",
                 t => $t);

my $cache = [ [ 'Helicone-Cache-Enabled', 'true' ] ];

sub call { HgRedis->call($t, @_) }
sub metric { HgRedis->metric($t, @_) }

# ------------------------------------------------------------- spread

ok($t->wait_for(sub {
       call(user => 'probe')->{headers}{'helicone-ratelimit-limit'}
   }, timeout => 10), 'spread - the store answers');

is(join(' ', map { call(user => 'u1')->{status} } 1 .. 3), '200 200 429',
   'spread - limited');

# (the first commands may have gone to the seed before the map came)
my $redirects = metric('helicone_redis_redirects_total');

# 30 buckets: all three nodes hold some (each misses with p < 1e-5)
call(user => "spread$_") for 1 .. 30;

my @counts = map { scalar(() = $_->keys('helicone:rl:*')) } @nodes;
is(scalar(grep { $_ > 0 } @counts), 3,
   "spread - buckets on every node (@counts)");
is($counts[0] + $counts[1] + $counts[2], 32, 'spread - each bucket once');

for my $i (1 .. 3) {
    call(headers => $cache, user => "c$i", content => "cached $i");
}
ok($t->wait_for(sub {
       !grep { (call(headers => $cache, user => "c$_", content => "cached $_")
                ->{headers}{'helicone-cache'} // '') ne 'HIT' } 1 .. 3
   }), 'spread - cache hits');

is(metric('helicone_redis_redirects_total'), $redirects,
   'spread - the map sent each command to its node');

# ------------------------------------------------------------- reshard

# a fresh bucket, and where it lives
my %before = map { $_ => 1 } map { $_->keys('helicone:rl:*') } @nodes;
is(call(user => 'mover')->{status}, 200, 'reshard - 1 of 2, before');

my ($key) = grep { !$before{$_} } map { $_->keys('helicone:rl:*') } @nodes;
my ($from) = grep { scalar(() = $_->keys($key)) } @nodes;
my ($to) = grep { $_ != $from } @nodes;
my $slot = $from->cmd('CLUSTER', 'KEYSLOT', $key);

my $from_id = $from->cmd('CLUSTER', 'MYID');
my $to_id = $to->cmd('CLUSTER', 'MYID');

# migrating: the key moves, the slot not yet; the old node says ASK
$to->cmd('CLUSTER', 'SETSLOT', $slot, 'IMPORTING', $from_id);
$from->cmd('CLUSTER', 'SETSLOT', $slot, 'MIGRATING', $to_id);
$from->cmd('MIGRATE', '127.0.0.1', $to->port, $key, 0, 5000);

is(scalar(() = $to->keys($key)), 1, 'reshard - the bucket migrated');

is(call(user => 'mover')->{status}, 200, 'ask - 2 of 2, through ASK');
is(metric('helicone_redis_redirects_total'), $redirects + 1,
   'ask - one redirect followed');
is(call(user => 'mover')->{status}, 429,
   'ask - limited: the bucket counted on its new node');

# moved: the slot is the new node's everywhere; MOVED, then the map
$_->cmd('CLUSTER', 'SETSLOT', $slot, 'NODE', $to_id) for $to, $from,
    grep { $_ != $to && $_ != $from } @nodes;

$redirects = metric('helicone_redis_redirects_total');

is(call(user => 'mover')->{status}, 429, 'moved - still limited');
ok(metric('helicone_redis_redirects_total') > $redirects,
   'moved - MOVED followed');

# the map is asked for again: the slot goes to its node directly
ok($t->wait_for(sub {
       my $n = metric('helicone_redis_redirects_total');
       call(user => 'mover');
       metric('helicone_redis_redirects_total') == $n;
   }), 'moved - the map refreshed, no more redirects');

is(scalar(() = $from->keys($key)), 0, 'moved - nothing left on the old node');

$t->stop;
$t->check_no_alerts;

done_testing;

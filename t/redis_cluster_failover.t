#!/usr/bin/perl

# Tests for the Redis store on a Cluster whose master dies: three
# masters with a replica each; the master of a bucket is killed, the
# Cluster promotes its replica, and the gateway, failing open meanwhile,
# reads the slot map again and uses the promoted replica, with no
# reload.

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

my @nodes = HgRedis->cluster($t, 6, 1);

# the replicas are in sync: a failover can promote them
ok($t->wait_for(sub {
       !grep { my $i = eval { $_->cmd('INFO', 'replication') } // '';
               $i =~ /role:slave/ && $i !~ /master_link_status:up/ } @nodes
   }, timeout => 20, interval => 0.1), 'setup - replicas in sync');

HgRedis->gateway('url=redis://127.0.0.1:' . $nodes[0]->port
                 . ' cluster=on timeout=500ms', t => $t,
                 limit => '3;w=60;s=user');

sub call { HgRedis->call($t, @_) }

ok($t->wait_for(sub {
       call(user => 'probe')->{headers}{'helicone-ratelimit-limit'}
   }, timeout => 10), 'before - the store answers');

# a bucket, and the master that holds it (not the seed)
my $user;
my $victim;

for my $i (1 .. 50) {
    my %before = map { $_ => 1 } map { eval { $_->keys('helicone:rl:*') } }
                 @nodes;
    call(user => "v$i");
    my ($key) = grep { !$before{$_} }
                map { eval { $_->keys('helicone:rl:*') } } @nodes;
    ($victim) = grep {
        (eval { $_->cmd('ROLE') } // [])->[0] eq 'master'
        && scalar(() = $_->keys($key))
    } @nodes[1 .. $#nodes];
    if ($victim) { $user = "v$i"; last }
}

ok($victim, 'before - a bucket on a master other than the seed');

# ------------------------------------------------------------- failover

my $offset = $t->log_offset;

$victim->stop;

# while the Cluster has not promoted the replica: answered, failing open
my @st = map { call(user => $user, timeout => 5)->{status} // 'none' } 1 .. 3;
is_deeply(\@st, [ 200, 200, 200 ], 'down - answered, failing open');

ok($t->wait_for(sub {
       call(user => $user)->{headers}{'helicone-ratelimit-limit'}
   }, timeout => 30, interval => 0.2),
   'after - the promoted replica answers for the slot');

my $promoted = grep {
    $_ != $victim
    && (eval { $_->cmd('INFO', 'replication') } // '') =~ /role:master/
} @nodes;
is($promoted, 3, 'after - three masters again');

ok(HgRedis->call($t, user => 'after1')->{headers}{'helicone-ratelimit-limit'},
   'after - other slots still answered');

$t->stop;
$t->check_no_alerts;

done_testing;

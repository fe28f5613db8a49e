#!/usr/bin/perl

# Tests for the Redis store behind Sentinel: one master, one replica,
# three sentinels that want a password; the gateway asks the sentinels
# for the master, and a SENTINEL FAILOVER under a small load moves it to
# the new master with no reload: no request waits past the store's
# timeout meanwhile, and limits and the cache work on the new master.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;

use HgTest;
use HgRedis;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;
plan(skip_all => 'redis-server not installed') unless HgRedis->available;
plan(skip_all => 'redis-sentinel not installed')
    unless HgRedis->sentinel_available;

my $master = HgRedis->start($t, name => 'master');
my $replica = HgRedis->start($t, name => 'replica',
                             args => [ '--replicaof', '127.0.0.1',
                                       $t->port('master') ]);

# the sentinels want a password, from the environment
$ENV{HG_TEST_SENTINEL_PW} = 'sentinel-secret-1';

my @sentinels = map {
    HgRedis->sentinel($t, "sentinel$_", $master->port,
                      password => 'sentinel-secret-1')
} 1 .. 3;

# the sentinels know the replica, in sync, and each other: a failover
# can start
ok($t->wait_for(sub {
       my $ok = 1;
       for my $s (@sentinels) {
           my $r = eval { $s->cmd('SENTINEL', 'replicas', 'mymaster') };
           my %f = @{ ($r // [])->[0] // [] };
           my $o = eval { $s->cmd('SENTINEL', 'sentinels', 'mymaster') };
           $ok &&= ($f{flags} // '') eq 'slave'
                   && ($f{'master-link-status'} // '') eq 'ok'
                   && @{ $o // [] } == 2;
       }
       $ok;
   }, timeout => 30, interval => 0.2), 'setup - sentinels ready');

my $timeout = 500;
my $list = join ',', map { '127.0.0.1:' . $_->port } @sentinels;

HgRedis->gateway("url=redis://mymaster sentinels=$list "
                 . 'sentinel_password=env:HG_TEST_SENTINEL_PW '
                 . "timeout=${timeout}ms", t => $t, limit => '3;w=60;s=user');

my $cache = [ [ 'Helicone-Cache-Enabled', 'true' ] ];

sub call { HgRedis->call($t, @_) }
sub metric { HgRedis->metric($t, @_) }

sub limited {
    my ($user) = @_;
    return join ' ', map { call(user => $user)->{status} } 1 .. 4;
}

# ------------------------------------------------------------- before

ok($t->wait_for(sub {
       call(user => 'probe')->{headers}{'helicone-ratelimit-limit'}
   }, timeout => 10), 'before - the master found through the sentinels');

ok($t->wait_log(qr/\[info\].*helicone redis: master "mymaster" is at 127\.0\.0\.1:${\ $master->port}/),
   'before - the master\'s address told');

is(limited('u1'), '200 200 200 429', 'before - limited');
is(scalar(() = eval { $master->keys('helicone:rl:*') }), 2,
   'before - buckets on the master');

call(headers => $cache, user => 'c', content => 'before');
ok($t->wait_for(sub {
       (call(headers => $cache, user => 'c', content => 'before')
        ->{headers}{'helicone-cache'} // '') eq 'HIT' }),
   'before - cache hit');

# ------------------------------------------------------------- load

my $results = $t->path('load.txt');
my $stop = $t->path('load.stop');

my $load = fork // die "fork: $!\n";

if ($load == 0) {
    open my $fh, '>', $results or POSIX::_exit(1);
    $fh->autoflush(1);

    # bounded: until told, at most 60 s and 1500 requests, paced at
    # about 50 a second (the debug log stays readable)
    my $end = time + 60;
    for (my $i = 0; $i < 1500 && !-e $stop && time < $end; $i++) {
        my $r = call(headers => $cache, user => 'load' . $i % 7,
                     timeout => 10);
        printf {$fh} "%s %.3f\n", $r->{status} // 'none',
               $r->{elapsed} // 99;
        select undef, undef, undef, 0.02;
    }

    POSIX::_exit(0);
}

$t->wait_for(sub { -s $results });

# ------------------------------------------------------------- failover

my $offset = $t->log_offset;

$sentinels[0]->cmd('SENTINEL', 'FAILOVER', 'mymaster');

ok($t->wait_for(sub {
       my $a = eval {
           $sentinels[0]->cmd('SENTINEL', 'get-master-addr-by-name',
                              'mymaster')
       };
       $a && $a->[1] == $replica->port;
   }, timeout => 30, interval => 0.1), 'failover - Sentinel names the replica');

ok($t->wait_for(sub {
       metric('helicone_redis_master_switches_total') >= 1
   }, timeout => 20, interval => 0.1), 'failover - metrics: one switch');

my $port = $replica->port;
ok(grep({ /\[warn\].*helicone redis: master "mymaster" is at 127\.0\.0\.1:$port$/ }
        split /\n/, $t->error_log(since => $offset)),
   'failover - the gateway moved, told');

ok($t->wait_for(sub {
       call(user => 'probe2')->{headers}{'helicone-ratelimit-limit'}
   }, timeout => 10), 'after - Redis answers again');

is(limited('u2'), '200 200 200 429', 'after - limited on the new master');
# (Sentinel closed our own look-in connections too: asked again)
ok($t->wait_for(sub {
       ((eval { $replica->cmd('ROLE') } // [])->[0] // '') eq 'master'
   }), 'after - the replica is the master');

call(headers => $cache, user => 'c', content => 'after');
ok($t->wait_for(sub {
       (call(headers => $cache, user => 'c', content => 'after')
        ->{headers}{'helicone-cache'} // '') eq 'HIT' }),
   'after - cache hit, stored on the new master');

# ------------------------------------------------------------- the load

open my $done, '>', $stop or die;
close $done;
waitpid $load, 0;

my @lines = split /\n/, $t->read_file('load.txt');
my @bad = grep { !/^(200|429) / } @lines;
my ($slowest) = sort { $b <=> $a } map { (split / /)[1] } @lines;

# a request waits on Redis at most twice (cache, then limits)
my $bound = 2 * $timeout / 1000 + 1;

ok(@lines > 10, 'load - ' . scalar(@lines) . ' requests made');
is(scalar @bad, 0, 'load - all answered') or diag(join "\n", @bad[0 .. 4]);
ok($slowest < $bound, "load - the slowest took ${slowest}s (< ${bound}s)");

$t->stop;
unlike($t->error_log, qr/sentinel-secret/, 'the sentinels\' password not logged');
$t->check_no_alerts;

# ------------------------------------------------------------- stale

# a sentinel that names a replica: ROLE says so, nothing is written to it

my $stale = HgRedis->start($t, name => 'stale',
                           args => [ '--replicaof', '127.0.0.1',
                                     $replica->port ]);
my ($fake) = HgRedis->fake_sentinel($t, 'fake', $stale->port);

my $s = HgRedis->gateway("url=redis://mymaster sentinels=127.0.0.1:$fake "
                         . "timeout=${timeout}ms", limit => '1;w=60;s=user');

ok($s->wait_log(qr/\[error\].*helicone redis: "redis:\/\/mymaster" is not the master yet/,
                timeout => 10),
   'stale - a replica named: refused, told');

is(join(' ', map { HgRedis->call($s, user => 'stale')->{status} } 1 .. 3),
   '200 200 200', 'stale - limits fail open');

$s->stop;
$s->check_no_alerts;

done_testing;

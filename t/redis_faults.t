#!/usr/bin/perl

# Tests for the Redis store when Redis fails: killed and restarted under
# load, requests keep being answered within the store timeout (cache and
# limits fail open, or limits fail closed with a 503), trouble is logged
# once per interval and counted, and everything recovers by itself; a
# Redis that accepts and never answers bounds requests by the timeout; a
# client that leaves while its request waits, and a shutdown meanwhile.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use HgTest;
use HgRedis;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;
plan(skip_all => 'redis-server not installed') unless HgRedis->available;

my $redis = HgRedis->start($t);
my $port = $redis->port;

$t->mock_llm('openai');

$t->write_config($t->conf_head . <<"EOF2");
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_auth off;
    helicone_store redis url=redis://127.0.0.1:$port timeout=300ms;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            helicone_ratelimit "2;w=60;s=user";
        }

        location /closed/v1/ {
            helicone_pass gateway;
            helicone_ratelimit "1000;w=60";
            helicone_ratelimit_fail closed;
        }

        location = /metrics { helicone_metrics; }
    }
}
EOF2

$t->run;

my $gw = $t->port('gw');

sub call {
    my ($t, $port, %a) = @_;
    my $path = delete $a{path} // '/v1/chat/completions';
    my $h = delete $a{headers} // [];
    my $timeout = delete $a{timeout};
    return $t->chat(port => $port, path => $path, headers => $h,
                    defined $timeout ? (timeout => $timeout) : (),
                    json => { model => 'gpt-4o-mini',
                              messages => [ { role => 'user',
                                              content => 'hi' } ], %a });
}

my $cache = [ 'Helicone-Cache-Enabled', 'true' ];

# ------------------------------------------------------------- healthy

# the worker's connection is up once a limit is reported
ok($t->wait_for(sub {
       call($t, $gw, user => 'probe')->{headers}{'helicone-ratelimit-limit'}
   }, timeout => 10), 'healthy - connected');

is(call($t, $gw, user => 'u1')->{status}, 200, 'healthy - 1 of 2');
is(call($t, $gw, user => 'u1')->{status}, 200, 'healthy - 2 of 2');
is(call($t, $gw, user => 'u1')->{status}, 429, 'healthy - limited');

call($t, $gw, headers => [ $cache ], user => 'c');
ok($t->wait_for(sub {
       (call($t, $gw, headers => [ $cache ], user => 'c')
        ->{headers}{'helicone-cache'} // '') eq 'HIT' }),
   'healthy - cache hit');

sub redis_ready {
    my ($v) = ($t->http(port => $gw, path => '/metrics')->{body} // '')
              =~ /^helicone_redis_ready (-?\d+)$/m;
    return $v // -1;
}

is(redis_ready(), 1, 'healthy - metrics: the worker\'s Redis is ready');

# ------------------------------------------------------------- load

# a client that keeps asking through the outage
my $results = $t->path('load.txt');
my $stop = $t->path('load.stop');

my $load = fork // die "fork: $!\n";

if ($load == 0) {
    open my $fh, '>', $results or POSIX::_exit(1);
    $fh->autoflush(1);

    my $i = 0;
    until (-e $stop) {
        my $r = call($t, $gw, headers => [ $cache ], user => 'load' . $i++ % 7,
                     timeout => 5);
        printf {$fh} "%s %.3f\n", $r->{status} // 'none', $r->{elapsed} // 9;
    }

    POSIX::_exit(0);
}

$t->wait_for(sub { -s $results });

# ------------------------------------------------------------- down

my $offset = $t->log_offset;

$redis->stop;

ok($t->wait_log(qr/\[error\].*helicone redis: "redis:/, since => $offset),
   'down - logged');

my $r = call($t, $gw, user => 'u1');
is($r->{status}, 200, 'down - limits fail open');
is(redis_ready(), 0, 'down - metrics: no Redis ready');
ok(!exists $r->{headers}{'helicone-ratelimit-limit'},
   'down - no limit reported');
ok($r->{elapsed} < 0.5, 'down - answered at once');

$r = call($t, $gw, headers => [ $cache ], user => 'c');
is($r->{headers}{'helicone-cache'}, 'MISS', 'down - the cache misses');
is($r->{status}, 200, 'down - and serves');

$r = call($t, $gw, path => '/closed/v1/chat/completions');
is($r->{status}, 503, 'down - closed limits: 503');
is($r->{json}{error}{code}, 'rate_limit_unavailable', 'down - closed: why');
is($r->{headers}{'retry-after'}, '1', 'down - closed: Retry-After');

# down for a few reconnects (backoff 100ms, 200ms, ...), then back
ok($t->wait_for(sub {
       my @tries = $t->error_log(since => $offset)
                   =~ /helicone redis: connecting/g;
       @tries >= 4 }, timeout => 10),
   'down - reconnects with backoff');

my $during = $t->error_log(since => $offset);
my @told = $during =~ /\[error\].*helicone redis:/g;
is(scalar @told, 1, 'down - told once per interval');

$redis->run;

ok($t->wait_for(sub { call($t, $gw, user => 'u1')->{status} == 429 },
                timeout => 10, interval => 0.1),
   'back - limits enforced again');

ok($t->wait_for(sub {
       (call($t, $gw, headers => [ $cache ], user => 'c2')
        ->{headers}{'helicone-cache'} // '') eq 'HIT' },
       timeout => 10, interval => 0.1),
   'back - the cache hits again');

like($t->error_log(since => $offset),
     qr/\[notice\].*helicone redis: ".*" is back, [1-9]\d* operations failed/,
     'back - logged, with the failures counted');

my ($failed) = ($t->http(port => $gw, path => '/metrics')->{body} // '')
               =~ /^helicone_redis_failed_total (\d+)$/m;
ok(($failed // 0) > 0, 'back - the failures in the metrics');
is(redis_ready(), 1, 'back - metrics: Redis ready again');

is(call($t, $gw, path => '/closed/v1/chat/completions')->{status}, 200,
   'back - closed limits pass again');

# the load: every request answered, none waited long

open my $done, '>', $stop or die;
close $done;
waitpid $load, 0;

my @lines = split /\n/, $t->read_file('load.txt');
my @bad = grep { !/^(200|429) / } @lines;
my ($slowest) = sort { $b <=> $a } map { (split / /)[1] } @lines;

ok(@lines > 10, 'load - ' . scalar(@lines) . ' requests made');
is(scalar @bad, 0, 'load - all answered') or diag(join "\n", @bad[0 .. 4]);
ok($slowest < 1, "load - the slowest took ${slowest}s");

$t->stop;
$t->check_no_alerts;

# ------------------------------------------------------------- silent

# a Redis that accepts connections and never answers

my $t2 = HgTest->new;
my ($silent) = HgRedis->silent($t2);

$t2->mock_llm('openai2');

# worker_shutdown_timeout comes before the store's timeout
$t2->write_config($t2->conf_head . "worker_shutdown_timeout 500ms;\n"
                  . <<"EOF2");
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai2%% auth=none;
    helicone_auth off;
    helicone_store redis url=redis://127.0.0.1:$silent timeout=1500ms;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw2%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            helicone_ratelimit "2;w=60";
        }
    }
}
EOF2

$t2->run;

my $gw2 = $t2->port('gw2');

my @took;
for (1 .. 4) {
    my $r = call($t2, $gw2, headers => [ $cache ], timeout => 10);
    push @took, $r->{elapsed};
    is($r->{status}, 200, "silent - answered $_");
}

my ($max) = sort { $b <=> $a } @took;
ok($max < 2.5, "silent - bounded by the timeout (${max}s)");
ok($max > 1, 'silent - the first waited for it');

# a client leaving while its request waits: one event, nothing else

# every answered request has its event: the aborted one is the next
my $n = 4;

$t2->wait_for(sub {
    $t2->wait_jsonl('helicone.jsonl', $n);
    my $r = call($t2, $gw2, timeout => 0.3);
    $n++ unless $r->{timed_out};
    $r->{timed_out};
}, timeout => 10);

my @ev = $t2->wait_jsonl('helicone.jsonl', $n + 1, timeout => 5);
is(scalar @ev, $n + 1, 'abort - one event');
is($ev[-1]{log}{response}{status}, -3, 'abort - logged as aborted');

# let the abandoned operation time out: nothing happens to the request
my $off2 = $t2->log_offset;
$t2->wait_log(qr/helicone redis: .*timed out|operations/, since => $off2,
              timeout => 3);
is(scalar @{ $t2->read_jsonl('helicone.jsonl') }, $n + 1,
   'abort - still one event');

# a shutdown while requests wait: they are answered, then the worker goes

# (right after a reconnect: while backing off, operations fail at once)
my $off3 = $t2->log_offset;
$t2->wait_log(qr/helicone redis: connecting/, since => $off3, timeout => 10);

my $kid = fork // die;
if ($kid == 0) {
    my $r = call($t2, $gw2, timeout => 10);
    POSIX::_exit(($r->{status} // 0) == 200 ? 0 : 1);
}

ok($t2->wait_log(qr/queued EVALSHA/, since => $off3),
   'shutdown - a request waits');

my $t0 = time;
$t2->stop;
ok(time - $t0 < 5, 'shutdown - quick');
waitpid $kid, 0;

like($t2->error_log, qr/helicone redis: closed for shutdown/,
     'shutdown - the connection closed by worker_shutdown_timeout');

$t2->check_no_alerts;

done_testing;

#!/usr/bin/perl

# Tests for scale-out: two nginx instances (two workers each) behind an
# imagined load balancer share one Redis: a response stored through one
# is a hit on the other, and a limit is one global limit, exact under
# concurrency across both.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;

use HgTest;
use HgRedis;

my $a = HgTest->new;

plan(skip_all => 'module not built') unless $a->has_module;
plan(skip_all => 'redis-server not installed') unless HgRedis->available;

my $redis = HgRedis->start($a);
my $rport = $redis->port;

my $openai = $a->mock_llm('openai');
my $mport = $a->port('openai');

my $b = HgTest->new;

for my $t ($a, $b) {
    my $head = $t->conf_head;
    $head =~ s/worker_processes 1;/worker_processes 2;/;

    $t->write_config($head . <<"EOF2");
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:$mport auth=none;
    helicone_auth off;
    helicone_store redis url=redis://127.0.0.1:$rport timeout=2s;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }

        location /limited/v1/ {
            helicone_pass gateway;
            helicone_ratelimit "10;w=3600";
        }
    }
}
EOF2

    $t->run;
}

sub call {
    my ($t, %a) = @_;
    my $path = delete $a{path} // '/v1/chat/completions';
    my $h = delete $a{headers} // [];
    return $t->chat(port => $t->port('gw'), path => $path, headers => $h,
                    json => { model => 'gpt-4o-mini',
                              messages => [ { role => 'user',
                                              content => 'hi' } ], %a });
}

my $cache = [ [ 'Helicone-Cache-Enabled', 'true' ] ];

# ------------------------------------------------------------- one cache

my $n = scalar @{ $openai->requests };

my $r1 = call($a, headers => $cache, user => 'shared');
is($r1->{headers}{'helicone-cache'}, 'MISS', 'cache - a miss on A');

# A stores after it answered: wait for the entry, not for a hit, so
# that B never misses and asks the provider a second time.
ok($a->wait_for(sub { my @k = $redis->keys('helicone:{cache:*'); @k }),
   'cache - A stored the entry in Redis');
my $r2 = call($b, headers => $cache, user => 'shared');
is($r2->{headers}{'helicone-cache'}, 'HIT', 'cache - a hit on B');
is($r2->{body}, $r1->{body}, 'cache - the body A stored');
is(scalar @{ $openai->requests }, $n + 1, 'cache - the provider asked once');

# ------------------------------------------------------------- one limit

my @kids;
for my $i (1 .. 30) {
    my $pid = fork // die $!;
    if ($pid == 0) {
        my $r = call($i % 2 ? $a : $b, path => '/limited/v1/chat/completions');
        POSIX::_exit($r->{status} == 200 ? 0 : $r->{status} == 429 ? 1 : 2);
    }
    push @kids, $pid;
}

my %codes;
for (@kids) { waitpid($_, 0); $codes{$? >> 8}++ }
is($codes{0} // 0, 10, 'limit - exactly the quota of 30 passed, A and B');
is($codes{1} // 0, 20, 'limit - the rest got 429');

my $r = call($a, path => '/limited/v1/chat/completions');
is($r->{headers}{'helicone-ratelimit-remaining'}, '0',
   'limit - A sees what B used');

$a->stop;
$b->stop;
$a->check_no_alerts;
$b->check_no_alerts;

done_testing;

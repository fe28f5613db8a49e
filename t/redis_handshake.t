#!/usr/bin/perl

# The Redis store's handshake goes first, alone: operations queued while
# it is in flight wait for its answers. A refused SELECT (a database the
# server does not have) must not let them run in database 0; the store
# then fails open, as when Redis is down.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

use HgTest;
use HgRedis;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;
plan(skip_all => 'redis-server not installed') unless HgRedis->available;

my $redis = HgRedis->start($t);
my $rport = $redis->port;

$t->mock_llm('openai');

# redis-server has 16 databases: 99 is refused at every handshake
$t->write_config($t->conf_head . <<"EOF2");
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_auth off;
    helicone_store redis url=redis://127.0.0.1:$rport/99 timeout=300ms;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            helicone_cache on;
            helicone_ratelimit "1000;w=60;s=user";
        }
    }
}
EOF2

$t->run;

my $gw = $t->port('gw');

# clients that keep asking across several reconnections (the backoff
# starts at 50 ms), so that some arrive while a handshake is in flight
my $stop = $t->path('stop');
my @kids;

for my $k (1 .. 4) {
    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        until (-e $stop) {
            $t->chat(port => $gw, timeout => 5,
                     json => { model => 'gpt-4o-mini', user => "u$k",
                               messages => [ { role => 'user',
                                               content => "hi $k" } ] });
        }
        POSIX::_exit(0);
    }

    push @kids, $pid;
}

# until the handshake has been refused a few times
ok($t->wait_for(sub {
       my @refused = $t->error_log =~ /refused the handshake/g;
       @refused >= 1 && -s $t->path('helicone.jsonl') > 0 }, timeout => 10),
   'select refused - the store says so, requests go on');
sleep 2;

open my $fh, '>', $stop or die "$stop: $!\n";
close $fh;
waitpid $_, 0 for @kids;

my $r = $t->chat(port => $gw, json => { model => 'gpt-4o-mini', user => 'x',
                 messages => [ { role => 'user', content => 'hi' } ] });
is($r->{status}, 200, 'select refused - fails open: served');

my @keys = $redis->keys('helicone*');
is(scalar @keys, 0, 'select refused - nothing written to database 0')
    or diag("keys in database 0: @keys[0 .. ($#keys < 4 ? $#keys : 4)]");

$t->stop;
$t->check_no_alerts;

done_testing;

#!/usr/bin/perl

# Redis stalling for short moments again and again (SIGSTOP 0.3 s every
# second, as a fork or a latency spike would): the store's trouble is told
# at most once per 10 seconds however often the connection comes back,
# and so are the requests a fail-closed limit refuses meanwhile.

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

$t->write_config($t->conf_head . <<"EOF2");
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_auth off;
    helicone_store redis url=redis://127.0.0.1:$rport timeout=100ms;
    helicone_log file path=/dev/null;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            helicone_ratelimit "1000000;w=60";
        }

        location /closed/v1/ {
            helicone_pass gateway;
            helicone_ratelimit "1000000;w=60";
            helicone_ratelimit_fail closed;
        }
    }
}
EOF2

# the whole run counts: on a loaded box the first connection may time out
# already (its scripts load slowly), and that report starts the interval
my $start = time;
my $off = $t->log_offset;

$t->run;

my $gw = $t->port('gw');

sub call {
    my ($path) = @_;
    return $t->chat(port => $gw, timeout => 5, path => $path,
                    json => { model => 'gpt-4o-mini',
                              messages => [ { role => 'user',
                                              content => 'hi' } ] });
}

ok($t->wait_for(sub {
       call('/v1/chat/completions')->{headers}{'helicone-ratelimit-limit'} }),
   'flaps - Redis answers at first');

my $stop = $t->path('stop');
my @kids;

for my $path ('/v1/chat/completions', '/closed/v1/chat/completions') {
    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        until (-e $stop) {
            call($path);
            sleep 0.01;
        }
        POSIX::_exit(0);
    }

    push @kids, $pid;
}

for (1 .. 6) {
    kill 'STOP', $redis->{pid};
    sleep 0.3;
    kill 'CONT', $redis->{pid};
    sleep 0.7;
}

my $secs = time - $start;

open my $fh, '>', $stop or die "$stop: $!\n";
close $fh;
waitpid $_, 0 for @kids;

my $log = $t->error_log(since => $off);
my $most = 1 + int($secs / 10);

my @trouble = $log =~ /^(.*\[error\].*helicone redis.*)$/mg;
my @back = $log =~ /^(.*helicone redis.*is back.*)$/mg;
my @refused = $log =~ /^(.*limits not checked.*)$/mg;

ok(@trouble >= 1 && @trouble <= $most,
   sprintf('flaps - trouble told at most once per 10 s (%.1f s)', $secs))
    or diag(join "\n", @trouble);
ok(@back <= $most, 'flaps - its end told as seldom') or diag(join "\n", @back);
ok(@refused >= 1 && @refused <= $most,
   'flaps - fail-closed refusals told as seldom, with a count')
    or diag(scalar(@refused) . " lines: $refused[0]");
like($refused[0] // '', qr/\d+ requests refused since the last report/,
     'flaps - the refusals counted');

ok($t->wait_for(sub {
       call('/v1/chat/completions')->{headers}{'helicone-ratelimit-limit'} }),
   'flaps - Redis answers again');

$t->stop;
$t->check_no_alerts;

done_testing;

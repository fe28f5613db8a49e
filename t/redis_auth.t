#!/usr/bin/perl

# Tests for the Redis connection's handshake: AUTH with a password from
# the environment and SELECT of the URL's database on every connect; a
# wrong password is told once and the store fails open.

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

my $redis = HgRedis->start($t, password => 'hg-secret');
my $port = $redis->port;

$ENV{HG_TEST_REDIS_PW} = 'hg-secret';
$ENV{HG_TEST_REDIS_BAD} = 'not-it';

$t->mock_llm('openai');

$t->write_config($t->conf_head . <<"EOF2");
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_auth off;
    helicone_store redis url=redis://127.0.0.1:$port/3 timeout=2s
                   password=env:HG_TEST_REDIS_PW;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            helicone_ratelimit "2;w=60";
        }
    }
}
EOF2

$t->run;

sub call {
    my ($t) = @_;
    return $t->chat(port => $t->port('gw'),
                    json => { model => 'gpt-4o-mini',
                              messages => [ { role => 'user',
                                              content => 'hi' } ] });
}

is(call($t)->{status}, 200, 'auth - 1 of 2');
is(call($t)->{status}, 200, 'auth - 2 of 2');
is(call($t)->{status}, 429, 'auth - limited: Redis counted');

$redis->cmd('SELECT', '3');
is(scalar(() = $redis->keys('helicone:rl:*')), 1,
   'select - the bucket is in database 3');

$t->stop;
$t->check_no_alerts;

# a wrong password: refused, told, and the limits fail open

my $t2 = HgTest->new;

$t2->mock_llm('openai2');

$t2->write_config($t2->conf_head . <<"EOF2");
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai2%% auth=none;
    helicone_auth off;
    helicone_store redis url=redis://127.0.0.1:$port timeout=2s
                   password=env:HG_TEST_REDIS_BAD;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            helicone_ratelimit "1;w=60";
        }
    }
}
EOF2

$t2->run;

ok($t2->wait_log(qr/\[error\].*helicone redis: ".*" refused the handshake: /),
   'wrong password - told');
unlike($t2->error_log, qr/hg-secret|not-it/, 'wrong password - not logged');

my @st = map { call($t2)->{status} } 1 .. 3;
is_deeply(\@st, [ 200, 200, 200 ], 'wrong password - limits fail open');

$t2->stop;
$t2->check_no_alerts;

done_testing;

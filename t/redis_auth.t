#!/usr/bin/perl

# Tests for the Redis connection's handshake: AUTH with a password from
# the environment and SELECT of the URL's database on every connect; a
# wrong password is told once and the store fails open. An ACL user
# (user@ in the URL) with its password from a file, or a whole URL from
# the environment; no password ever reaches the log.

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

# an ACL user allowed only our keys, its password in a file

my $acl = HgRedis->start($t, name => 'acl');
my $acl_port = $acl->port;

$acl->cmd('ACL', 'SETUSER', 'gateway', 'on', '>acl-secret-1',
          '~helicone:*', '+@all');
$t->write_file('redis.pw', "acl-secret-1\n");

$ENV{HG_TEST_REDIS_URL} = "redis://gateway:acl-secret-1\@127.0.0.1:$acl_port";

sub acl_gateway {
    my ($store) = @_;
    return HgRedis->gateway("$store timeout=2s", limit => '1;w=60',
                            mock => 'openai3');
}

for my $case ([ 'acl user, password file',
                "url=redis://gateway\@127.0.0.1:$acl_port "
                . 'password=file:' . $t->path('redis.pw') ],
              [ 'acl user, url from the environment',
                'url=env:HG_TEST_REDIS_URL' ])
{
    my ($name, $store) = @$case;

    $acl->cmd('FLUSHALL');

    my $g = acl_gateway($store);

    is(call($g)->{status}, 200, "$name - 1 of 1");
    is(call($g)->{status}, 429, "$name - limited: Redis counted");

    is(scalar(() = $acl->keys('helicone:rl:*')), 1,
       "$name - the bucket is in Redis");
    like($acl->cmd('CLIENT', 'LIST'), qr/\bcmd=evalsha user=gateway\b/,
         "$name - the gateway is logged in as its user");

    $g->stop;
    unlike($g->error_log, qr/acl-secret/, "$name - no password in the log");
    $g->check_no_alerts;
}

# a wrong password for the user: refused, told without it

$t->write_file('wrong.pw', "acl-secret-2\n");

my $w = acl_gateway("url=redis://gateway\@127.0.0.1:$acl_port "
                    . 'password=file:' . $t->path('wrong.pw'));

ok($w->wait_log(qr/\[error\].*helicone redis: "redis:\/\/127\.0\.0\.1:\d+" refused the handshake: WRONGPASS/),
   'acl wrong password - told');
is(call($w)->{status}, 200, 'acl wrong password - fails open');

$w->stop;
unlike($w->error_log, qr/acl-secret/, 'acl wrong password - not logged');
$w->check_no_alerts;

done_testing;

#!/usr/bin/perl

# Tests for the Redis store over TLS (rediss://): the server's certificate
# is checked against tls_ca and the expected name, a client certificate
# is shown when Redis asks for one, a reconnect resumes the TLS session;
# a wrong CA, a wrong name or a missing client certificate is refused,
# told, and the store fails open.

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
plan(skip_all => 'no openssl binary') unless -x '/usr/bin/openssl';

my ($ca) = HgRedis->pki($t, 'ca');
my ($wrong_ca) = HgRedis->pki($t, 'wrong-ca');
my ($crt, $key) = HgRedis->pki($t, 'redis', ca => 'ca',
                               san => 'DNS:redis.test');
my ($client_crt, $client_key) = HgRedis->pki($t, 'client', ca => 'ca');

my $redis = HgRedis->start($t, tls => { cert => $crt, key => $key,
                                        ca => $ca, auth_clients => 'yes' });
my $tls = $redis->tls_port;

# a gateway whose store is rediss:// with these parameters
sub gateway {
    my ($store) = @_;
    return HgRedis->gateway("url=rediss://127.0.0.1:$tls timeout=2s $store");
}

sub call { my ($g, $user) = @_; HgRedis->call($g, user => $user) }
sub metric { HgRedis->metric(@_) }

# ------------------------------------------------------------- verified

my $g = gateway("tls_ca=$ca tls_name=redis.test "
                . "tls_cert=$client_crt tls_key=$client_key");

ok($g->wait_for(sub {
       call($g, 'probe')->{headers}{'helicone-ratelimit-limit'}
   }, timeout => 10), 'verified - connected over TLS');

is(call($g, 'u1')->{status}, 200, 'verified - 1 of 2');
is(call($g, 'u1')->{status}, 200, 'verified - 2 of 2');
is(call($g, 'u1')->{status}, 429, 'verified - limited: Redis counted');
is(scalar(() = $redis->keys('helicone:rl:*')), 2,
   'verified - the buckets are in Redis');

# Redis drops every client: the reconnect offers the last session

is(metric($g, 'helicone_redis_tls_resumed_total'), 0,
   'resume - none resumed yet');

$redis->cmd('CLIENT', 'KILL', 'TYPE', 'normal');

ok($g->wait_for(sub {
       metric($g, 'helicone_redis_tls_resumed_total') >= 1
       && call($g, 'probe2')->{headers}{'helicone-ratelimit-limit'}
   }, timeout => 10), 'resume - reconnected, the TLS session resumed');

is(call($g, 'u1')->{status}, 429, 'resume - the bucket is still there');

$g->stop;
$g->check_no_alerts;

# ------------------------------------------------------------- refused

sub refused {
    my ($name, $store, $why) = @_;

    my $r = gateway($store);

    ok($r->wait_log(qr/\[error\].*helicone redis: "rediss:\/\/127\.0\.0\.1:$tls" $why/,
                    timeout => 10),
       "$name - told") or diag($r->error_log_tail(10));

    my @st = map { call($r, 'u2')->{status} } 1 .. 3;
    is_deeply(\@st, [ 200, 200, 200 ], "$name - limits fail open");

    $r->stop;
    $r->check_no_alerts;
}

refused('wrong CA',
        "tls_ca=$wrong_ca tls_name=redis.test "
        . "tls_cert=$client_crt tls_key=$client_key",
        qr/failed TLS verification: (unable to get local issuer|self-signed certificate in certificate chain)/);

refused('wrong name',
        "tls_ca=$ca tls_name=other.test "
        . "tls_cert=$client_crt tls_key=$client_key",
        qr/failed TLS verification: hostname mismatch/);

refused('an address the certificate does not name',
        "tls_ca=$ca tls_cert=$client_crt tls_key=$client_key",
        qr/failed TLS verification: IP address mismatch/);

refused('no client certificate', "tls_ca=$ca tls_name=redis.test",
        # TLS 1.3: the server refuses after the client's last flight,
        # so whichever of our reads or writes comes next meets it
        qr/(closed the connection|TLS handshake failed|send\(\) failed)/);

# u1, probe, probe2: none of the refused gateways' u2
is(scalar(() = $redis->keys('helicone:rl:*')), 3,
   'refused - nothing reached Redis');

done_testing;

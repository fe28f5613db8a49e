#!/usr/bin/perl

# Tests for helicone attempts over TLS: certificates are verified against
# the trusted CAs and the provider's host name goes out as SNI.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use HgProvider;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;
plan(skip_all => 'no openssl binary') unless -x '/usr/bin/openssl';

my $d = $t->dir;

# a private CA and a certificate for "llm.test" signed by it
HgProvider::certificate($t, 'llm.test', 'other.test');

# the shipped attempt location, trusting our CA instead of the system's
ok(HgProvider::attempt_conf($t), 'attempt conf - names a trusted CA file');

my $mock = $t->mock_llm('openai');

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    log_format sni '$ssl_server_name';

    # the names resolve to the TLS front of the mock through these blocks;
    # two of them, as a block's peers keep TLS sessions across locations
    upstream llm.test {
        server 127.0.0.1:%%PORT_tls%%;
    }

    upstream other.test {
        server 127.0.0.1:%%PORT_tls%%;
    }

    helicone_provider secure url=https://llm.test auth=none;
    helicone_provider other url=https://other.test auth=none;
    helicone_auth off;

    server {
        listen 127.0.0.1:%%PORT_tls%% ssl;
        ssl_certificate %%DIR%%/llm.crt;
        ssl_certificate_key %%DIR%%/llm.key;
        access_log %%DIR%%/sni.log sni;

        location / {
            proxy_pass http://127.0.0.1:%%PORT_openai%%;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_system%%;
        include %%ATTEMPT_CONF%%;
        location /v1/ { helicone_pass gateway; }
    }

    server {
        listen 127.0.0.1:%%PORT_private%%;
        include %%DIR%%/attempt-test-ca.conf;
        location /v1/ { helicone_pass gateway; }
    }
}
EOF

$t->run;

my $req = { model => 'gpt-4o-mini/secure',
            messages => [ { role => 'user', content => 'hi' } ] };

my $r = $t->chat(port => $t->port('system'),
                 json => { %$req, model => 'gpt-4o-mini/other' });

is($r->{status}, 502, 'system CAs - a private CA is refused');
is($r->{json}{error}{code}, 'upstream_failed', 'system CAs - JSON error');
ok($t->wait_log(qr/upstream SSL certificate verify error/),
   'system CAs - nginx logs the verification failure');
is(scalar @{ $mock->requests }, 0, 'system CAs - nothing reached the mock');

$r = $t->chat(port => $t->port('private'), json => $req);

is($r->{status}, 200, 'trusted CA - verified and relayed');
is($r->{json}{choices}[0]{message}{content}, 'Hello from mock',
   'trusted CA - provider body');

my $sni = $t->wait_for(sub {
    my $log = -f "$d/sni.log" ? $t->read_file('sni.log') : '';
    $log =~ /\S/ ? $log : undef;
});
like($sni, qr/^llm\.test$/m, 'trusted CA - SNI is the provider host');

$t->stop;

# the verification failure is an [error], never an [alert] or [crit]
$t->check_no_alerts;

done_testing;

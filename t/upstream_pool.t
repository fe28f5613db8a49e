#!/usr/bin/perl

# Provider connections kept alive by default: requests share a connection
# (the mock counts what it accepts), a TLS provider's connection is reused
# and a new one resumes the TLS session, helicone_upstream's limits hold
# (idle connections, requests per connection, idle time), a kept
# connection the provider closed meanwhile is retried on a new one without
# the client or the log seeing a failure, and a reload keeps it working.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use HgDns;
use HgProvider;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;
plan(skip_all => 'no openssl binary') unless -x '/usr/bin/openssl';

my $d = $t->dir;

# a test CA and a certificate for the TLS front of the mock
HgProvider::certificate($t, 'llm.test', 'resume.test');
HgProvider::attempt_conf($t) or die "no CA file in the attempt location\n";

my $dns = HgDns->start(t => $t, ttl => 300,
                       names => { 'llm.test' => '127.0.0.1',
                                  'resume.test' => '127.0.0.1' });
$t->write_file('resolv.conf', $dns->resolv_conf);

# one port, two addresses: "few" has 127.0.0.2 to itself
my $plain = MockLLM->start(name => 'plain', host => '127.0.0.1',
                           port => $t->port('plain'),
                           log => "$d/mock-plain.jsonl", parent => $$);
my $few = MockLLM->start(name => 'few', host => '127.0.0.2',
                         port => $t->port('plain'),
                         log => "$d/mock-few.jsonl", parent => $$);
$t->mock_llm('back');
my $slow = $t->mock_llm('slow', handler => sub {
    { delay_ms => 400,
      json => MockLLM::openai_completion('gpt-4o-mini', 'slow') } });

# the provider drops a kept connection just as the next request comes
my $stale = $t->mock_llm('stale', handler => sub {
    $_[0]{conn_seq} > 1 ? { close => 1 } : undef });

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_resolv_conf %%DIR%%/resolv.conf;
    log_format conn '$connection $connection_requests $ssl_session_reused';

    helicone_provider plain url=http://127.0.0.1:%%PORT_plain%% auth=none;
    helicone_provider few url=http://127.0.0.2:%%PORT_plain%% auth=none;
    helicone_provider slow url=http://127.0.0.1:%%PORT_slow%% auth=none;
    helicone_provider stale url=http://127.0.0.1:%%PORT_stale%% auth=none;
    helicone_provider local url=http://localhost:%%PORT_back%% auth=none;
    helicone_provider secure url=https://llm.test:%%PORT_tls%% auth=none;
    helicone_provider resume url=https://resume.test:%%PORT_tls%% auth=none;

    helicone_upstream few keepalive_requests=3;
    helicone_upstream slow keepalive=2 keepalive_timeout=2s;
    helicone_upstream https://resume.test:%%PORT_tls%% keepalive=0;

    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    # the TLS provider: this nginx's own TLS server in front of the mock
    server {
        listen 127.0.0.1:%%PORT_tls%% ssl;
        ssl_certificate %%DIR%%/llm.crt;
        ssl_certificate_key %%DIR%%/llm.key;
        access_log %%DIR%%/tls.log conn;
        keepalive_requests 1000;

        location / {
            proxy_pass http://127.0.0.1:%%PORT_back%%;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%DIR%%/attempt-test-ca.conf;
        location /v1/ { helicone_pass gateway; }

        location /proxy/ {
            rewrite ^/proxy(/.*)$ $1 break;
            helicone_pass plain;
        }

        location /target/ {
            rewrite ^/target(/.*)$ $1 break;
            helicone_pass target;
            helicone_target_allow http://127.0.0.1:%%PORT_plain%%;
        }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');

sub ask { HgProvider::ask($t, $gw, $_[0]) }

sub accepts {
    my ($mock) = @_;
    return scalar grep { $_->{conn_seq} == 1 } $mock->requests;
}

# connections from nginx to a port, from /proc/net/tcp (ESTABLISHED)
sub established {
    my ($port) = @_;
    my $hex = sprintf '%04X', $port;
    open my $fh, '<', '/proc/net/tcp' or return -1;
    return scalar grep { (split)[2] =~ /:$hex$/ && (split)[3] eq '01' } <$fh>;
}

# ------------------------------------------------------------- reuse

my @status = map { ask('plain')->{status} } 1 .. 5;
is("@status", '200 200 200 200 200', 'reuse - five requests');
is(scalar @{ $plain->requests }, 5, 'reuse - five reached the mock');
is(accepts($plain), 1, 'reuse - over one connection');

# the same pool in every mode: proxy mode and target mode reach the
# origin over the connection gateway mode left
my $json = { model => 'gpt-4o-mini', messages => [] };
my @modes = map {
    ($t->chat(port => $gw, path => '/proxy/v1/chat/completions',
              json => $json)->{status},
     $t->chat(port => $gw, path => '/target/v1/chat/completions',
              headers => [ [ 'Helicone-Target-Url',
                             'http://127.0.0.1:' . $t->port('plain') ] ],
              json => $json)->{status})
} 1 .. 2;
is("@modes", '200 200 200 200', 'proxy and target modes - answered');
is(scalar @{ $plain->requests }, 9, 'proxy and target modes - reached the mock');
is(accepts($plain), 1, 'proxy and target modes - over the same connection');

# "localhost" is not asked of DNS (our server does not know it)
is(ask('local')->{status}, 200, 'localhost - reached without DNS');
is($dns->queries('localhost'), 0, 'localhost - no DNS query');

# ------------------------------------------------------------- per connection

@status = map { ask('few')->{status} } 1 .. 7;
is("@status", join(' ', ('200') x 7), 'keepalive_requests - seven requests');
is(accepts($few), 3, 'keepalive_requests=3 - a new connection every third');

# ------------------------------------------------------------- pool limit

my @kids;
for (1 .. 5) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        POSIX::_exit(ask('slow')->{status} == 200 ? 0 : 1);
    }
    push @kids, $pid;
}
my $bad = 0;
for (@kids) { waitpid $_, 0; $bad++ if $? }

is($bad, 0, 'pool limit - five at once answered');
is(accepts($slow), 5, 'pool limit - over five connections');
ok($t->wait_for(sub { established($t->port('slow')) == 2 }),
   'pool limit - keepalive=2: two kept');

is(ask('slow')->{status}, 200, 'pool limit - a kept one serves');
is(accepts($slow), 5, 'pool limit - no new connection for it');

ok($t->wait_for(sub { established($t->port('slow')) == 0 }, timeout => 10),
   'keepalive_timeout=2s - idle ones closed');
is(ask('slow')->{status}, 200, 'keepalive_timeout - then a new one');
is(accepts($slow), 6, 'keepalive_timeout - counted');

# ------------------------------------------------------------- stale

my $since = $t->log_offset;
my @ids;

for (1 .. 4) {
    my $r = ask('stale');
    is($r->{status}, 200, "stale connection $_ - the client sees a 200");
    push @ids, $r->{headers}{'helicone-id'};
}

my @closed = grep { $_->{conn_seq} > 1 } $stale->requests;
ok(@closed >= 3, 'stale - the provider closed kept connections')
    or diag(scalar @closed);
is(accepts($stale), 4, 'stale - each retried on a new connection');

my @events = map { $t->wait_event($_) } @ids;
is(join(' ', map { scalar @{ $_->{attempts} } } @events), '1 1 1 1',
   'stale - one attempt each in the log');
is(join(' ', map { $_->{attempts}[0]{outcome} } @events), 'ok ok ok ok',
   'stale - none failed');
unlike($t->error_log(since => $since), qr/helicone attempt: .* failed/,
       'stale - no failed attempt logged');

# ------------------------------------------------------------- TLS

sub tls_log {
    my @lines = split /\n/, ($t->read_file('tls.log') // '');
    return map { [ split / / ] } @lines;
}

@status = map { ask('secure')->{status} } 1 .. 4;
is("@status", '200 200 200 200', 'TLS - four requests');

my @tls = tls_log();
my %conns = map { $_->[0] => 1 } @tls;
is(scalar keys %conns, 1, 'TLS - over one connection');
is(join(' ', map { $_->[1] } @tls), '1 2 3 4', 'TLS - its requests counted');

@status = map { ask('resume')->{status} } 1 .. 3;
is("@status", '200 200 200', 'TLS resume - three requests');
@tls = (tls_log())[4 .. 6];
is(join(' ', map { $_->[1] } @tls), '1 1 1',
   'TLS resume - keepalive=0: a connection each');
is(join(' ', map { $_->[2] } @tls), '. r r',
   'TLS resume - sessions resumed after the first');

# ------------------------------------------------------------- reload

my $before = accepts($plain);
$t->reload(wait_old => 1);

@status = map { ask('plain')->{status} } 1 .. 3;
is("@status", '200 200 200', 'reload - requests served');
is(accepts($plain), $before + 1, 'reload - the new worker keeps one');

$t->stop;
$t->check_no_alerts;

$_->stop for $plain, $few;

done_testing;

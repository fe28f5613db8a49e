#!/usr/bin/perl

# Tests for a worker killed with a request in flight: the client of that
# request sees its connection closed, the master starts a new worker,
# which serves at once; every finished request kept its log event, and
# the metrics, in shared memory, outlive the worker.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $openai = $t->mock_llm('openai', handler => sub {
    my ($req) = @_;
    return undef unless ($req->{headers}{'x-case'} // '') eq 'slow';
    return { %{ MockLLM::default_action($req) }, delay_ms => 5000 };
});

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ { helicone_pass gateway; }
        location = /metrics { helicone_metrics; }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my $body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}';

sub chat {
    my (@h) = @_;
    return $t->http(port => $gw, method => 'POST',
                    path => '/v1/chat/completions', body => $body,
                    headers => [ [ 'Content-Type', 'application/json' ], @h ]);
}

sub requests_ok {
    my ($m) = ($t->http(port => $gw, path => '/metrics')->{body} // '')
              =~ /^helicone_requests_total\{provider="openai",[^}]*status="200"\} (\d+)$/m;
    return $m // 0;
}

is(chat()->{status}, 200, "before - request $_") for 1 .. 5;
$t->wait_for(sub { requests_ok() == 5 });

# a request waiting on the slow provider when its worker dies
my $s = $t->http_connect($gw) or die "connect: $!\n";
$s->blocking(1);
print $s "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       . "Content-Type: application/json\r\nX-Case: slow\r\n"
       . "Content-Length: " . length($body) . "\r\n\r\n$body";

ok(scalar $openai->wait_requests(6), 'in flight - the provider has it');

my ($old) = $t->worker_pids;
kill 'KILL', $old;

# the client's connection ends with no response
my $got = '';
my $closed = eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 4;
    1 while sysread($s, $got, 4096, length $got);
    alarm 0;
    1;
};
ok($closed, 'in flight - connection closed, before the provider answered');
is($got, '', 'in flight - no response');

my $new;
ok($t->wait_for(sub { ($new) = grep { $_ != $old } $t->worker_pids; $new }),
   'a new worker started');

is(chat()->{status}, 200, "after - request $_") for 1 .. 5;

my @ev = $t->wait_jsonl('helicone.jsonl', 10);
is(scalar @ev, 10, 'log - one event per finished request, none torn');
is(scalar(grep { ($_->{log}{response}{status} // 0) == 200 } @ev), 10,
   'log - all of them successes');

ok($t->wait_for(sub { requests_ok() == 10 }), 'metrics - outlived the worker');

like($t->error_log, qr/worker process $old exited on signal 9/,
     'error log - the kill is reported');
$t->check_no_alerts(except => qr/worker process $old exited on signal 9/);

done_testing;

#!/usr/bin/perl

# Tests for the test harness and the mock provider; no module needed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use JSON::PP;
use Socket qw(MSG_NOSIGNAL);
use Test::More;
use Time::HiRes qw(time);

use HgTest;
use MockLLM;

my $t = HgTest->new;

ok(-d $t->dir && (stat $t->dir)[2] & 0777 == 0777, 'harness - dir is 0777');
ok(-f $t->root . '/t/lib/HgTest.pm', 'harness - root found');

my $p = $t->port('a');
is($t->port('a'), $p, 'port - stable per name');
isnt($t->port('b'), $p, 'port - a new name gets a new port');

my $messages = [ { role => 'user', content => 'hi' } ];

# ---------------------------------------------------------------- default
# OpenAI behaviour

my $m = $t->mock_llm('openai');

is($m->url, 'http://127.0.0.1:' . $t->port('openai'), 'mock - url');

my $r = $t->chat(
    port    => $m->port,
    json    => { model => 'gpt-4o-mini', messages => $messages },
    headers => [ [ 'Authorization', 'Bearer sk-test' ],
                 [ 'X-Dup', 'one' ], [ 'X-Dup', 'two' ] ],
);

is($r->{status}, 200, 'non-stream - status');
is($r->{complete}, 1, 'non-stream - complete');
is($r->{json}{choices}[0]{message}{content}, 'Hello from mock',
   'non-stream - content');
is($r->{json}{model}, 'gpt-4o-mini', 'non-stream - model echoed');
is($r->{json}{usage}{total_tokens}, 14, 'non-stream - usage');
is($r->{json}{usage}{prompt_tokens_details}{cached_tokens}, 0,
   'non-stream - cached tokens');
like($r->{headers}{'content-type'}, qr{application/json},
     'non-stream - content type');
ok($r->{ttfb} >= 0 && $r->{ttfb} < 2, 'non-stream - ttfb');

$r = $t->chat(
    port => $m->port,
    json => { model => 'gpt-4o', messages => $messages,
              stream => JSON::PP::true,
              stream_options => { include_usage => JSON::PP::true } },
);

is($r->{status}, 200, 'stream - status');
like($r->{headers}{'content-type'}, qr{text/event-stream},
     'stream - content type');
is($r->{headers}{'transfer-encoding'}, 'chunked', 'stream - chunked');
is($r->{complete}, 1, 'stream - complete');

my @ev = @{ $r->{events} };
is(scalar @ev, 6, 'stream - 3 content, stop, usage, done');
is(join('', map { $_->{json}{choices}[0]{delta}{content} // '' }
            @ev[0 .. 3]),
   'Hello from mock', 'stream - content');
is($ev[0]{json}{model}, 'gpt-4o', 'stream - model echoed');
is($ev[3]{json}{choices}[0]{finish_reason}, 'stop', 'stream - finish');
is_deeply($ev[4]{json}{choices}, [], 'stream - usage chunk has no choices');
is($ev[4]{json}{usage}{completion_tokens}, 3, 'stream - usage');
is($ev[5]{data}, '[DONE]', 'stream - done');

$r = $t->chat(port => $m->port,
              json => { model => 'x', stream => JSON::PP::true,
                        messages => $messages });
is(scalar @{ $r->{events} }, 5, 'stream - no usage chunk unless asked');

$r = $t->http(port => $m->port, path => '/v1/models');
is($r->{status}, 404, 'mock - unknown path 404');
is(HgTest::json_decode($r->{body})->{error}{code}, 'unknown_url',
   'mock - openai error shape');

$r = $t->chat(port => $m->port, body => '{bad');
is($r->{status}, 400, 'mock - bad json 400');

my @req = $m->wait_requests(5);
is(scalar @req, 5, 'record - all requests');
is($req[0]{method}, 'POST', 'record - method');
is($req[0]{path}, '/v1/chat/completions', 'record - path');
is($req[0]{headers}{authorization}, 'Bearer sk-test', 'record - header');
is($req[0]{headers}{'x-dup'}, 'one, two', 'record - duplicates joined');
is_deeply([ map { $_->[1] } grep { $_->[0] eq 'X-Dup' }
            @{ $req[0]{header_list} } ],
          [ 'one', 'two' ], 'record - header list');
is($req[0]{json}{model}, 'gpt-4o-mini', 'record - json');
is($req[0]{json}{messages}[0]{content}, 'hi', 'record - json messages');
is($req[4]{body}, '{bad', 'record - raw body');
is($req[4]{json}, undef, 'record - invalid json is null');
is(scalar $t->read_jsonl('mock-openai.jsonl')->@*, 5, 'read_jsonl - file');

# ---------------------------------------------------------------- scripted
# actions

my $s = $t->mock_llm('script', handler => sub {
    my ($q) = @_;
    my $path = $q->{path};

    if ($path eq '/delays') {
        return { sse => [ { delay_ms => 0, data => MockLLM::sse_data('one') },
                          { delay_ms => 300,
                            data => MockLLM::sse_data('two') },
                          { delay_ms => 300,
                            data => MockLLM::sse_data('three') } ] };
    }

    return { sse => [ MockLLM::sse_data(MockLLM::openai_chunk('m', 'a')) ],
             cut => 1 }
        if $path eq '/cut';
    return { reset => 1 } if $path eq '/reset';
    return { close => 1 } if $path eq '/close';
    return { stall => 1 } if $path eq '/stall';
    return { body => 'x' x 1_000_000 } if $path eq '/big';
    return { delay_ms => 200, status => 201, headers => [ [ 'X-A', '1' ] ],
             body => 'late' }
        if $path eq '/delay';
    return { status => $q->{seq} == 1 ? 500 : 200, body => "seq $q->{seq}" }
        if $path eq '/seq';
    return { body => $q->{body} } if $path eq '/echo';
    return undef;
});

$r = $t->http(port => $s->port, path => '/seq');
is($r->{status}, 500, 'seq - first request');
$r = $t->http(port => $s->port, path => '/seq');
is($r->{body}, 'seq 2', 'seq - second request');

my @arrivals;
$r = $t->http(port => $s->port, path => '/delays',
              on_chunk => sub { push @arrivals, $_[0] });

my %at;
for my $c (@{ $r->{chunks} }) {
    for my $e (HgTest::sse_events($c->[1])) {
        $at{ $e->{data} } = $c->[0];
    }
}

is(join(',', map { $_->{data} } HgTest::sse_events($r->{body})),
   'one,two,three', 'timing - all events');
ok(defined $at{one} && defined $at{two} && defined $at{three},
   'timing - each event in its own read');
cmp_ok($at{two} - $at{one}, '>=', 0.25, 'timing - second event 300ms later');
cmp_ok($at{three} - $at{two}, '>=', 0.25, 'timing - third event 300ms later');
is(scalar @arrivals, scalar @{ $r->{chunks} }, 'on_chunk - called per read');
is($r->{complete}, 1, 'timing - complete');

$r = $t->http(port => $s->port, path => '/cut');
is($r->{status}, 200, 'cut - status');
is($r->{complete}, 0, 'cut - incomplete');
like($r->{body}, qr/"content":"a"/, 'cut - events before the cut');

my $t0 = time;
$r = $t->http(port => $s->port, path => '/reset', timeout => 5);
ok(!defined $r->{status} && $r->{error}, "reset - error ($r->{error})");
cmp_ok(time - $t0, '<', 2, 'reset - no hang');

$r = $t->http(port => $s->port, path => '/close', timeout => 5);
ok(!defined $r->{status} && $r->{error}, "close - error ($r->{error})");

$t0 = time;
$r = $t->http(port => $s->port, path => '/stall', timeout => 0.5);
ok($r->{timed_out}, 'stall - client timeout');
cmp_ok(time - $t0, '<', 1.5, 'stall - timeout honoured');

$r = $t->http(port => $s->port, path => '/big', abort_after_bytes => 1000);
ok($r->{aborted}, 'abort - aborted');
is($r->{complete}, 0, 'abort - incomplete');
ok(length $r->{body} >= 1000 && length $r->{body} < 1_000_000,
   'abort - partial body');

$t0 = time;
$r = $t->http(port => $s->port, path => '/delays', abort_after_bytes => 1);
like($r->{body}, qr/one/, 'abort - stream first event');
cmp_ok(time - $t0, '<', 0.25, 'abort - stream aborted early');

$r = $t->http(port => $s->port, path => '/big');
is(length $r->{body}, 1_000_000, 'content-length - whole body');

$r = $t->http(port => $s->port, path => '/delay');
is($r->{status}, 201, 'delay - status');
is($r->{headers}{'x-a'}, '1', 'delay - header');
cmp_ok($r->{ttfb}, '>=', 0.18, 'delay - ttfb');

$r = $t->http(port => $s->port, method => 'POST', path => '/echo',
              chunked_body => [ '{"model":', '"m1"}' ]);
is($r->{body}, '{"model":"m1"}', 'chunked request body - echoed');
is($s->requests->[-1]{json}{model}, 'm1', 'chunked request body - json');

# keep-alive: two requests on one connection

my $c = $t->http_connect($s->port);
my $r1 = $t->http(sock => $c, method => 'POST', path => '/echo', body => 'A');
my $r2 = $t->http(sock => $c, method => 'POST', path => '/echo', body => 'B');
my $r3 = $t->http(sock => $c, path => '/echo',
                  headers => [ [ 'Connection', 'close' ] ]);
close $c;

is($r1->{body} . $r2->{body}, 'AB', 'keep-alive - two responses');
ok(!$r1->{closed} && !$r2->{closed}, 'keep-alive - connection kept');
ok($r3->{closed} || $r3->{complete}, 'keep-alive - closed on request');

@req = grep { $_->{path} eq '/echo' } $s->wait_requests(1);
@req = @req[-3 .. -1];
is($req[0]{peer_port}, $req[1]{peer_port}, 'keep-alive - same connection');
is(join(',', map { $_->{conn_seq} } @req), '1,2,3',
   'keep-alive - sequence on connection');

# concurrent connections are served in parallel

my @socks = map { $t->http_connect($s->port) } 1 .. 5;
$t0 = time;
for my $sock (@socks) {
    send $sock, "GET /delays HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
         MSG_NOSIGNAL;
}
my %out;
my $sel = IO::Select->new(@socks);
while ($sel->count && time - $t0 < 5) {
    for my $sock ($sel->can_read(0.5)) {
        my $got = sysread $sock, my $buf, 65536;
        if (!$got) {
            $sel->remove($sock);
            next;
        }
        $out{$sock} .= $buf;
    }
}
is(scalar(grep { HgTest::parse_response($_)->{complete} } values %out), 5,
   'concurrent - all complete');
cmp_ok(time - $t0, '<', 1.5, 'concurrent - served in parallel');
close $_ for @socks;

my $raw = $t->http_raw($m->port, "GET /x HTTP/1.1\r\nHost: a\r\n"
                       . "Connection: close\r\n\r\n", timeout => 3);
like($raw, qr{^HTTP/1\.1 404 }, 'http_raw - raw response');

$raw = $t->http_raw($m->port, "POST /v1/chat/completions HTTP/1.0\r\n"
                    . "Content-Length: 27\r\n\r\n"
                    . '{"model":"m","stream":true}', timeout => 3);
$r = HgTest::parse_response($raw);
ok(!$r->{headers}{'transfer-encoding'}, 'http/1.0 - stream not chunked');
is(scalar(HgTest::sse_events($r->{body})), 5, 'http/1.0 - stream events');

# ---------------------------------------------------------------- SSE parse

my @e = HgTest::sse_events(": comment\r\nevent: ping\r\ndata: a\r\n"
                           . "data:b\r\n\r\ndata: {\"x\":1}\n\ndata: tail");
is(scalar @e, 2, 'sse - unterminated event dropped');
is($e[0]{event}, 'ping', 'sse - event name');
is($e[0]{data}, "a\nb", 'sse - multi-line data');
is($e[1]{json}{x}, 1, 'sse - json');

my $pr = HgTest::parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                . "chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\n\r\n");
is($pr->{body}, 'abc', 'parse - chunked');
is($pr->{complete}, 1, 'parse - complete');

# ---------------------------------------------------------------- nginx

my $conf = <<'EOF';
http {
    %%HTTP_HEAD%%

    server {
        listen 127.0.0.1:%%PORT_nginx%%;

        location / {
            return 200 "ok";
        }

        location /v1/ {
            proxy_pass http://127.0.0.1:%%PORT_openai%%;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF

my $cfg = $t->write_config($t->conf_head(module => 0) . $conf);
unlike($t->read_file('nginx.conf'), qr/%%|load_module/, 'config - expanded');

my ($rc, $out) = $t->nginx_t;
is($rc, 0, 'nginx -t - ok') or diag($out);
like($out, qr/test is successful/, 'nginx -t - output');

$t->run;

my $np = $t->port('nginx');
$r = $t->http(port => $np, path => '/');
is($r->{status}, 200, 'nginx - status');
is($r->{body}, 'ok', 'nginx - body');

$r = $t->chat(port => $np, json => { model => 'p', stream => JSON::PP::true,
                                     messages => $messages });
is(scalar @{ $r->{events} }, 5, 'nginx proxy - stream through nginx');

my @w = $t->worker_pids;
is(scalar @w, 1, 'nginx - one worker');

my @nw = $t->reload(wait_old => 1);
is(scalar @nw, 1, 'reload - new worker');
isnt($nw[0], $w[0], 'reload - worker pid changed');
is_deeply([ $t->worker_pids ], \@nw, 'reload - old worker gone');

$r = $t->http(port => $np, path => '/');
is($r->{body}, 'ok', 'reload - still serving');

ok($t->reopen, 'reopen - signal sent');
ok($t->wait_log(qr/reopening logs/), 'reopen - logged');

$t->stop;
ok(!$t->can_connect($np), 'stop - port closed');
is($t->nginx_pid, undef, 'stop - pid cleared');

$t->check_no_alerts;

# ready means the workers run, not only the port: the master listens
# before it forks them (a test that read the worker list at once found
# none); eight workers widen the window, the list is read at once
my $many = HgTest->new;
(my $head8 = $many->conf_head(module => 0))
    =~ s/worker_processes 1;/worker_processes 8;/;
$many->write_config($head8 . <<'EOF');
http {
    %%HTTP_HEAD%%
    server {
        listen 127.0.0.1:%%PORT_many%%;
        location / { return 200 "ok"; }
    }
}
EOF
is($many->workers_expected, 8, 'workers - expected from the config');
$many->run;
my @all = $many->worker_pids;
is(scalar @all, 8, 'workers - all there when run returns');
my @again = $many->reload;
my %named = map { $_ => 1 } $many->worker_pids;
is(scalar(grep { $named{$_} } @again), 8,
   'workers - all named when reload returns');
$many->stop;

# a broken config: nginx -t fails, run() dies with the log

my $bad = HgTest->new;
$bad->write_config($bad->conf_head(module => 0) . <<'EOF');
http {
    %%HTTP_HEAD%%
    server {
        listen 127.0.0.1:%%PORT_x%%;
        no_such_directive on;
    }
}
EOF

($rc, $out) = $bad->nginx_t;
isnt($rc, 0, 'bad config - nginx -t fails');
like($out, qr/unknown directive "no_such_directive"/,
     'bad config - message');

ok(!eval { $bad->run; 1 }, 'bad config - run dies');
like($@, qr/nginx exited.*unknown directive/s, 'bad config - log in error');

eval { $t->write_config('%%NOPE%%') };
like($@, qr/unknown placeholder %%NOPE%%/, 'config - unknown placeholder');

done_testing();

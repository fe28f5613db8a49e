#!/usr/bin/perl

# Tests for helicone gateway errors: each refusal is an OpenAI-style JSON
# error with a Helicone-Id, never reaches the provider, and is logged once;
# nginx's own errors in a gateway location are JSON too.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $openai = $t->mock_llm('openai');
my $gone = $t->mock_llm('gone');

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_provider deadprov url=http://127.0.0.1:%%PORT_dead%% auth=none;
    helicone_provider goneprov url=http://127.0.0.1:%%PORT_gone%% auth=none;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            client_max_body_size 1k;
        }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my $messages = [ { role => 'user', content => 'hi' } ];
my $uuid4 = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-
               [0-9a-f]{12}$/x;

my $nreq = 0;       # requests that reached the gateway location
my $ncalls = 0;     # requests the provider should have seen
my %expect;         # Helicone-Id => [ HTTP status, case ], for the log

sub request {
    my (%a) = @_;
    $nreq++;
    return $a{method} && $a{method} ne 'POST' ? $t->http(%a, port => $gw)
                                              : $t->chat(%a, port => $gw);
}

# status, type, code, Helicone-Id, and the provider left alone
sub refused {
    my ($r, $status, $code, $name, %opt) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my $json = eval { HgTest::json_decode($r->{body}) } // {};
    my $err = ref $json eq 'HASH' && ref $json->{error} eq 'HASH'
              ? $json->{error} : {};

    is($r->{status}, $status, "$name - status $status");
    like($r->{headers}{'content-type'} // '', qr{^application/json},
         "$name - JSON content type");
    is($err->{code}, $code, "$name - code $code");
    is($err->{type}, $opt{type} // 'invalid_request_error', "$name - type");
    ok(defined $err->{message} && length $err->{message},
       "$name - message");
    ok(exists $err->{param} && !defined $err->{param}, "$name - param null");
    like($r->{headers}{'helicone-id'} // '', $uuid4, "$name - Helicone-Id");
    is(scalar @{ $openai->requests }, $ncalls,
       "$name - provider not called");

    $expect{ $r->{headers}{'helicone-id'} // '' } = [ $status, $name ];

    return $err;
}

# ---------------------------------------------------------------- body

my $err;
my $r = request(body => '{"model": "gpt-4o-mini", "messages": [');
refused($r, 400, 'invalid_json', 'non-JSON body');

$r = request(body => '');
refused($r, 400, 'invalid_json', 'empty body');

$r = request(body => '[{"model":"gpt-4o-mini"}]');
refused($r, 400, 'invalid_json', 'JSON array body');

$r = request(body => '"gpt-4o-mini"');
refused($r, 400, 'invalid_json', 'JSON string body');

$r = request(json => { messages => $messages });
refused($r, 400, 'missing_model', 'no model');

$r = request(json => { model => '', messages => $messages });
refused($r, 400, 'missing_model', 'empty model');

$r = request(json => { model => 5, messages => $messages });
refused($r, 400, 'missing_model', 'model a number');

$r = request(json => { model => undef, messages => $messages });
refused($r, 400, 'missing_model', 'model null');

$r = request(json => { model => "gpt\r\nX-Injected: 1",
                       messages => $messages });
refused($r, 400, 'invalid_model', 'model with CRLF');
ok(!exists $r->{headers}{'x-injected'}, 'model with CRLF - no header made');
unlike($r->{raw}, qr/\r\nX-Injected/i, 'model with CRLF - nothing injected');

$r = request(body => '{"model":"gpt\u0000x","messages":[]}');
refused($r, 400, 'invalid_model', 'model with escaped NUL');

$r = request(json => { model => 'no-such-model-xyz', messages => $messages });
refused($r, 404, 'model_not_found', 'unknown model');

# the model is quoted in the message: still one valid JSON document
$r = request(body => '{"model":"no\\"such\\\\model\\u2028","messages":[]}');
$err = refused($r, 404, 'model_not_found', 'unknown model with quotes');
like($err->{message} // '', qr/no"such\\model\x{2028}/,
     'unknown model with quotes - named in the message');

$r = request(body => qq({"model":"bad\xff\xfeutf8","messages":[]}));
refused($r, 400, 'invalid_json', 'model not UTF-8');

# an unknown provider suffix is part of a model name, like meta-llama/...
$r = request(json => { model => 'x/nosuchprovider', messages => $messages });
refused($r, 404, 'model_not_found', 'unknown provider suffix');

# ------------------------------------------------- client_max_body_size

my $big = HgTest::json_encode({ model => 'gpt-4o-mini',
    messages => [ { role => 'user', content => 'x' x 2000 } ] });

$r = request(body => $big);
$err = refused($r, 413, 'request_too_large', 'too large, length');
unlike($r->{body}, qr/<html/i, 'too large, length - no HTML page');

$r = request(chunked_body => [ substr($big, 0, 700), substr($big, 700) ]);
refused($r, 413, 'request_too_large', 'too large, chunked');
unlike($r->{body}, qr/<html/i, 'too large, chunked - no HTML page');

# a broken chunked body is found by nginx inside the gateway location
$nreq++;
$r = HgTest::parse_response($t->http_raw($gw,
         "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         . "Content-Type: application/json\r\n"
         . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
         . "zz\r\n{}\r\n0\r\n\r\n") // '', method => 'POST');
refused($r, 400, 'bad_request', 'broken chunked body');

# ------------------------------------------------------- method and URL

$r = request(method => 'GET', path => '/v1/chat/completions');
refused($r, 405, 'method_not_allowed', 'GET');
is($r->{headers}{allow}, 'POST', 'GET - Allow: POST');

$r = request(method => 'HEAD', path => '/v1/chat/completions');
is($r->{status}, 405, 'HEAD - status 405');
is($r->{headers}{allow}, 'POST', 'HEAD - Allow: POST');
like($r->{headers}{'helicone-id'} // '', $uuid4, 'HEAD - Helicone-Id');
is($r->{body}, '', 'HEAD - no body');
is(scalar @{ $openai->requests }, $ncalls, 'HEAD - provider not called');
$expect{ $r->{headers}{'helicone-id'} // '' } = [ 405, 'HEAD' ];

$r = request(method => 'PUT', path => '/v1/chat/completions',
             body => HgTest::json_encode({ model => 'gpt-4o-mini' }));
refused($r, 405, 'method_not_allowed', 'PUT');

$r = request(path => '/v1/completions',
             json => { model => 'gpt-4o-mini', messages => $messages });
refused($r, 404, 'unknown_url', 'other URL');

$r = request(path => '/v1/models',
             json => { model => 'gpt-4o-mini', messages => $messages });
refused($r, 405, 'method_not_allowed', 'POST to the model list');
is($r->{headers}{allow}, 'GET, HEAD', 'POST to the model list - Allow');

$r = request(path => '/v1/chat/completions/x',
             json => { model => 'gpt-4o-mini', messages => $messages });
refused($r, 404, 'unknown_url', 'URL past chat/completions');

# ---------------------------------------------------- provider unreachable

$r = request(json => { model => 'gpt-4o-mini/deadprov',
                       messages => $messages });
$err = refused($r, 502, 'upstream_failed', 'closed port',
               type => 'server_error');
like($err->{message} // '', qr/deadprov/, 'closed port - message names it');

$gone->stop;

$r = request(json => { model => 'gpt-4o-mini/goneprov',
                       messages => $messages });
$err = refused($r, 502, 'upstream_failed', 'stopped provider',
               type => 'server_error');
like($err->{message} // '', qr/goneprov/,
     'stopped provider - message names it');

# ------------------------------------------------------ Helicone-Request-Id

my $rid = 'A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D';

# one id sent three times: three requests, three event ids of our own,
# the client's in a field of its own
my %ids;
for my $i (1 .. 3) {
    $r = request(json => { model => 'gpt-4o-mini', messages => $messages },
                 headers => [ [ 'Helicone-Request-Id', $rid ] ]);
    $ncalls++;
    is($r->{status}, 200, "request id $i - served");
    my $id = $r->{headers}{'helicone-id'} // '';
    like($id, $uuid4, "request id $i - Helicone-Id is ours");
    $ids{$id}++;
    $expect{$id} = [ 200, "request id $i" ];
}
is(scalar keys %ids, 3, 'request id - reused: each request its own id');
ok(!exists $ids{ lc $rid }, 'request id - not the client\'s');
for my $id (keys %ids) {
    my $ev = $t->wait_event($id) // {};
    is($ev->{log}{request}{clientRequestId}, lc $rid,
       'request id - the client\'s kept, lower-cased');
}

for my $bad ('not-a-uuid', 'a1b2c3d4-e5f6-4a7b-7c9d-0e1f2a3b4c5d',
             'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d0')
{
    $r = request(json => { messages => $messages },
                 headers => [ [ 'Helicone-Request-Id', $bad ] ]);
    refused($r, 400, 'missing_model', "bad request id $bad");
    unlike($r->{raw}, qr/\Q$bad\E/i, "bad request id $bad - not reflected");
}

# ------------------------------------------------ bad bytes in headers

# nginx refuses these while reading the header, before a location is
# chosen: its own HTML 400, no Helicone-Id and no log event; an oversized
# header line is the same 400 ("Request Header Or Cookie Too Large")

my $body = HgTest::json_encode({ model => 'gpt-4o-mini',
                                 messages => $messages });

for my $case ([ 'bare CR', "X-Test: a\rb" ], [ 'NUL', "X-Test: a\0b" ],
              [ 'CR in property', "Helicone-Property-P: a\rX-Injected: 1" ],
              # past large_client_header_buffers (8k by default)
              [ 'oversized value', "Helicone-Property-Big: " . ('a' x 16384) ])
{
    my ($name, $line) = @$case;

    my $raw = $t->http_raw($gw, "POST /v1/chat/completions HTTP/1.1\r\n"
                                . "Host: 127.0.0.1\r\n$line\r\n"
                                . "Content-Type: application/json\r\n"
                                . "Content-Length: " . length($body) . "\r\n"
                                . "Connection: close\r\n\r\n$body");

    like($raw // '', qr{^HTTP/1\.1 400 }, "header with $name - 400");
    unlike($raw // '', qr/\r\nX-Injected/i,
           "header with $name - not reflected");
}

is(scalar @{ $openai->requests }, $ncalls,
   'bad header bytes - provider not called');

$r = request(json => { model => 'gpt-4o-mini', messages => $messages });
$ncalls++;
is($r->{status}, 200, 'still serving after bad requests');
$expect{ $r->{headers}{'helicone-id'} // '' } = [ 200, 'still serving' ];

# ---------------------------------------------------------------- the log

my @evs = $t->wait_jsonl('helicone.jsonl', $nreq);
my %by_id = map { $_->{id} => $_ } @evs;

for my $id (sort { $expect{$a}[1] cmp $expect{$b}[1] } keys %expect) {
    my ($status, $name) = @{ $expect{$id} };
    my $ev = $by_id{$id};
    ok($ev && $ev->{log}{response}{status} == $status,
       "event - $name logged by its Helicone-Id, status $status");
}

my ($dead) = grep { ($_->{log}{request}{model} // '')
                    eq 'gpt-4o-mini/deadprov' } @evs;
is($dead->{attempts}[0]{outcome}, 'failed', 'closed port - attempt failed');
is($dead->{attempts}[0]{provider}, 'deadprov',
   'closed port - attempt provider');

unlike($t->read_file('helicone.jsonl'), qr/not-a-uuid/,
       'event - bad request id not logged');

$t->stop;

@evs = $t->read_jsonl('helicone.jsonl');
is(scalar @evs, $nreq,
   'one event per request; raw requests nginx refused are not logged');
is(scalar @{ $openai->requests }, $ncalls, 'provider saw only good requests');

$t->check_no_alerts;

done_testing;

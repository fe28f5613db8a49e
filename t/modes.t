#!/usr/bin/perl

# Tests for helicone proxy mode (helicone_pass <provider>) and target mode
# (helicone_pass target): the upstream URL, what the provider receives,
# what the client gets back, and the target allowlist.

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

# one handler for both mocks: failures, an echo, non-POST methods; chat
# completions get the default OpenAI answer
my $handler = sub {
    my ($q) = @_;
    my ($path) = $q->{path} =~ m{^([^?]*)};

    if ($path =~ m{/fail/(\d+)$}) {
        return {
            status  => $1,
            headers => [ [ 'Content-Type', 'application/json' ],
                         [ 'X-Upstream', "fail-$1" ] ],
            body    => qq({"error":{"message":"mock failure $1",)
                       . qq("type":"mock_error","code":"m$1"}}),
        };
    }

    if ($path =~ m{/echo$}) {
        return {
            status  => 201,
            headers => [ [ 'Content-Type', 'application/octet-stream' ],
                         [ 'X-Upstream', 'echo' ] ],
            body    => $q->{body},
        };
    }

    if ($q->{method} ne 'POST') {
        return { status => 200,
                 json => { method => $q->{method}, path => $q->{path} } };
    }

    return undef;
};

my $up = $t->mock_llm('up', handler => $handler);       # openai's origin
my $other = $t->mock_llm('other', handler => $handler); # no provider's
my $bulk = $t->mock_llm('bulk', handler => $handler);   # large bodies only

my $up_origin = 'http://127.0.0.1:' . $up->port;
my $other_origin = 'http://127.0.0.1:' . $other->port;

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    # the path of url= is not used in proxy mode: only the origin
    helicone_provider openai url=http://127.0.0.1:%%PORT_up%%/ignored/base;
    helicone_provider bulk url=http://127.0.0.1:%%PORT_bulk%%;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ { helicone_pass openai; }

        location /bulk/ { helicone_pass bulk; }

        location /openai/ {
            rewrite ^/openai(/.*)$ $1 break;
            helicone_pass openai;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_tgt%%;
        include %%ATTEMPT_CONF%%;

        location /default/ { helicone_pass target; }

        location /explicit/ {
            helicone_pass target;
            helicone_target_allow http://127.0.0.1:%%PORT_other%%;
        }

        location /both/ {
            helicone_pass target;
            helicone_target_allow http://127.0.0.1:%%PORT_other%% providers;
        }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my $tgt = $t->port('tgt');
my $messages = [ { role => 'user', content => 'hi' } ];
my $uuid_re = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-
                  [0-9a-f]{12}$/x;
my $hkey = 'sk-helicone-aaaaaaa-aaaaaaa-aaaaaaa-aaaaaaa';

my %seen = (up => 0, other => 0);    # requests each mock has answered
my %mock = (up => $up, other => $other);

# the next request mock $name got; undef if none came
sub next_request {
    my ($name) = @_;
    my $n = ++$seen{$name};
    my @req = $mock{$name}->wait_requests($n);
    return @req >= $n ? $req[$n - 1] : do { $seen{$name}--; undef };
}

sub event_of {
    my ($r) = @_;
    my $id = $r->{headers}{'helicone-id'} // return undef;
    my $ev;

    $t->wait_for(sub {
        ($ev) = grep { $_->{id} eq $id } $t->read_jsonl('helicone.jsonl');
        $ev;
    });

    return $ev;
}

sub names { [ map { lc $_->[0] } @{ $_[0]{header_list} } ] }

# ================================================================ proxy

# ---------------------------------------------- JSON body, path and query

my $body = qq({ "model":"gpt-4o-mini",\n  "messages":[{"role":"user",)
           . qq("content":"caf\\u00e9 \\"q\\" \x{e2}\x{82}\x{ac}"}],)
           . qq("temperature" : 0.25 }\n);

my $r = $t->http(
    port    => $gw,
    method  => 'POST',
    path    => '/v1/chat/completions?api-version=2024-06-01&x=%2Fa%20b&y=',
    body    => $body,
    headers => [ [ 'Content-Type', 'application/json' ],
                 [ 'Authorization', 'Bearer sk-client-own-key' ],
                 [ 'x-api-key', 'client-x-api-key' ],
                 [ 'api-key', 'client-api-key' ],
                 [ 'OpenAI-Organization', 'org-client' ],
                 [ 'Helicone-Auth', "Bearer $hkey" ],
                 [ 'Helicone-Property-App', 'demo' ],
                 [ 'helicone-user-id', 'alice' ],
                 [ 'HELICONE-SESSION-ID', 'sess-1' ],
                 [ 'Helicone-Cache-Enabled', 'true' ],
                 [ 'Helicone-Target-Url', $other_origin ],
                 [ 'X-Custom', 'kept' ],
                 [ 'Keep-Alive', 'timeout=5' ],
                 [ 'TE', 'trailers' ],
                 [ 'Trailer', 'X-Never' ],
                 [ 'Proxy-Connection', 'keep-alive' ],
                 [ 'Proxy-Authorization', 'Basic cHJveHk6c2VjcmV0' ],
                 [ 'Accept-Encoding', 'gzip, br' ],
                 [ 'Host', 'client.example' ] ],
);

is($r->{status}, 200, 'proxy - status');
is($r->{headers}{'content-length'}, length $r->{body},
   'proxy - content length relayed');
my $j = eval { decode_json($r->{body}) } // {};
is($j->{choices}[0]{message}{content}, 'Hello from mock',
   'proxy - provider body relayed');
like($r->{headers}{'helicone-id'} // '', $uuid_re, 'proxy - Helicone-Id');
is($r->{headers}{'helicone-status'}, 'success', 'proxy - Helicone-Status');

my $got = next_request('up') // {};

is($got->{method}, 'POST', 'proxy - method');
is($got->{path}, '/v1/chat/completions?api-version=2024-06-01&x=%2Fa%20b&y=',
   'proxy - client path and query exactly, provider url path ignored');
is($got->{body}, $body, 'proxy - body byte-identical');
is($got->{headers}{'content-length'}, length $body,
   'proxy - content length of the body');
is($got->{headers}{authorization}, 'Bearer sk-client-own-key',
   'proxy - client Authorization passes untouched');
is($got->{headers}{'x-api-key'}, 'client-x-api-key',
   'proxy - client x-api-key passes');
is($got->{headers}{'api-key'}, 'client-api-key',
   'proxy - client api-key passes');
is($got->{headers}{'openai-organization'}, 'org-client',
   'proxy - other headers pass');
is($got->{headers}{'x-custom'}, 'kept', 'proxy - custom header passes');
is($got->{headers}{'content-type'}, 'application/json',
   'proxy - content type passes');
is($got->{headers}{host}, '127.0.0.1:' . $up->port,
   'proxy - Host is the provider\'s');
is_deeply([ grep { /^helicone-/ } @{ names($got) } ], [],
          'proxy - no Helicone-* header upstream');

for my $h (qw(keep-alive te trailer proxy-connection proxy-authorization
              accept-encoding transfer-encoding upgrade expect))
{
    ok(!grep({ $_ eq $h } @{ names($got) }), "proxy - no $h upstream");
}

is(scalar(grep { $_ eq 'host' } @{ names($got) }), 1, 'proxy - one Host');
is(scalar(grep { $_ eq 'content-length' } @{ names($got) }), 1,
   'proxy - one Content-Length');
ok(($got->{headers}{connection} // '') !~ /close/i,
   'proxy - client Connection not copied');

my $ev = event_of($r);
ok($ev, 'proxy - logged');
is($ev->{log}{request}{targetUrl},
   "$up_origin/v1/chat/completions?api-version=2024-06-01&x=%2Fa%20b&y=",
   'proxy - event target url');
is($ev->{log}{request}{model}, 'gpt-4o-mini', 'proxy - event model from body');
is_deeply($ev->{log}{request}{properties},
          { app => 'demo', 'Helicone-Session-Id' => 'sess-1' },
          'proxy - event properties');
is($ev->{log}{request}{userId}, 'alice', 'proxy - event user');
is($ev->{log}{response}{status}, 200, 'proxy - event status');

# ------------------------------------------------------ non-JSON body

my $bin = "not json {\x00\x01\xff\xfe binary \r\n end";

$r = $t->http(port => $gw, method => 'POST', path => '/v1/files/echo',
              body => $bin,
              headers => [ [ 'Content-Type', 'application/octet-stream' ] ]);

is($r->{status}, 201, 'proxy non-JSON - provider status relayed');
is($r->{body}, $bin, 'proxy non-JSON - provider body relayed byte for byte');
is($r->{headers}{'content-type'}, 'application/octet-stream',
   'proxy non-JSON - provider content type relayed');
is($r->{headers}{'x-upstream'}, 'echo', 'proxy non-JSON - provider header');
like($r->{headers}{'helicone-id'} // '', $uuid_re,
     'proxy non-JSON - Helicone-Id');

$got = next_request('up') // {};
is($got->{path}, '/v1/files/echo', 'proxy non-JSON - path');
is($got->{body}, $bin, 'proxy non-JSON - body byte-identical');
is($got->{headers}{'content-type'}, 'application/octet-stream',
   'proxy non-JSON - content type kept');

# text that merely starts like JSON
my $text = '{"model": "gpt-4o-mini", truncated';

$r = $t->http(port => $gw, method => 'POST', path => '/v1/echo',
              body => $text,
              headers => [ [ 'Content-Type', 'text/plain' ] ]);
is($r->{status}, 201, 'proxy broken JSON - forwarded');
$got = next_request('up') // {};
is($got->{body}, $text, 'proxy broken JSON - body byte-identical');

# larger than client_body_buffer_size: read back from the temp file (a
# mock of its own, since every poll of a mock's log decodes all of it)
my $big = join("", map { sprintf "%07d line of text\n", $_ } 1 .. 4000)
         . "\x00\xff tail";

$r = $t->http(port => $gw, method => 'POST', path => '/bulk/echo',
              body => $big,
              headers => [ [ 'Content-Type', 'application/octet-stream' ] ]);
is($r->{status}, 201, 'proxy large body - status');
ok($r->{body} eq $big, 'proxy large body - relayed back byte for byte');
my @bulk = $bulk->wait_requests(1);
is(scalar @bulk, 1, 'proxy large body - one provider call');
ok(@bulk && $bulk[0]{body} eq $big, 'proxy large body - byte-identical');
is($bulk[0]{headers}{'content-length'}, length $big,
   'proxy large body - content length');
like($t->error_log, qr/client request body is buffered to a temporary file/,
     'proxy large body - went through a temp file');

# a chunked client body goes up with a length
$r = $t->http(port => $gw, method => 'POST', path => '/v1/echo',
              chunked_body => [ 'part one, ', 'part two' ],
              headers => [ [ 'Content-Type', 'text/plain' ] ]);
is($r->{status}, 201, 'proxy chunked - status');
is($r->{body}, 'part one, part two', 'proxy chunked - echoed');
$got = next_request('up') // {};
is($got->{body}, 'part one, part two', 'proxy chunked - body joined');
is($got->{headers}{'content-length'}, 18, 'proxy chunked - content length');
ok(!exists $got->{headers}{'transfer-encoding'},
   'proxy chunked - no transfer-encoding upstream');

# ----------------------------------------------------- other methods

$r = $t->http(port => $gw, method => 'GET', path => '/v1/models?limit=2');

is($r->{status}, 200, 'proxy GET - status');
$j = eval { decode_json($r->{body}) } // {};
is_deeply($j, { method => 'GET', path => '/v1/models?limit=2' },
          'proxy GET - provider body relayed');
like($r->{headers}{'helicone-id'} // '', $uuid_re, 'proxy GET - Helicone-Id');

$got = next_request('up') // {};
is($got->{method}, 'GET', 'proxy GET - method');
is($got->{path}, '/v1/models?limit=2', 'proxy GET - path and query');
is($got->{body}, '', 'proxy GET - no body');
ok(!defined $got->{headers}{'content-length'}
   || $got->{headers}{'content-length'} eq '0',
   'proxy GET - no content length');
ok(!exists $got->{headers}{'content-type'},
   'proxy GET - no content type invented');

$r = $t->http(port => $gw, method => 'DELETE', path => '/v1/files/file-1');
is($r->{status}, 200, 'proxy DELETE - status');
$got = next_request('up') // {};
is($got->{method}, 'DELETE', 'proxy DELETE - method');
is($got->{path}, '/v1/files/file-1', 'proxy DELETE - path');

# -------------------------------------------- provider errors relayed

for my $status (400, 401, 404, 429, 500, 503) {
    $r = $t->http(port => $gw, method => 'POST',
                  path => "/v1/fail/$status",
                  body => '{"model":"gpt-4o-mini"}',
                  headers => [ [ 'Content-Type', 'application/json' ] ]);

    is($r->{status}, $status, "proxy $status - relayed as is");
    is($r->{body}, qq({"error":{"message":"mock failure $status",)
                   . qq("type":"mock_error","code":"m$status"}}),
       "proxy $status - provider body relayed");
    is($r->{headers}{'x-upstream'}, "fail-$status",
       "proxy $status - provider header relayed");
    like($r->{headers}{'helicone-id'} // '', $uuid_re,
         "proxy $status - Helicone-Id");

    $got = next_request('up') // {};
    is($got->{path}, "/v1/fail/$status", "proxy $status - provider called");

    my $ev = event_of($r);
    is($ev->{log}{response}{status}, $status, "proxy $status - event status");
}

is(scalar $up->requests->@*, $seen{up},
   'proxy errors - one provider call each, no retry');

# ------------------------------------------------------------ rewrite

$r = $t->chat(port => $gw,
              path => '/openai/v1/chat/completions?a=1&b=two',
              json => { model => 'gpt-4o-mini', messages => $messages });

is($r->{status}, 200, 'proxy rewrite - status');
$got = next_request('up') // {};
is($got->{path}, '/v1/chat/completions?a=1&b=two',
   'proxy rewrite - rewritten path, query kept');

$ev = event_of($r);
is($ev->{log}{request}{targetUrl}, "$up_origin/v1/chat/completions?a=1&b=two",
   'proxy rewrite - event target url');

$r = $t->http(port => $gw, method => 'GET',
              path => '/openai/v1/files/odd%20name%3Fx');

is($r->{status}, 200, 'proxy rewrite escape - status');
$got = next_request('up') // {};
is($got->{path}, '/v1/files/odd%20name%3Fx',
   'proxy rewrite escape - rewritten path re-escaped');

# ================================================================ target

sub target_post {
    my ($path, $target, @more) = @_;

    return $t->chat(
        port    => $tgt,
        path    => $path,
        json    => { model => 'gpt-4o-mini', messages => $messages },
        headers => [ (defined $target ? [ 'Helicone-Target-Url', $target ]
                                      : ()), @more ],
    );
}

sub check_refused {
    my ($r, $code, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    is($r->{status}, 400, "$name - 400");
    is($r->{json}{error}{code}, $code, "$name - code $code");
    is($r->{json}{error}{type}, 'invalid_request_error', "$name - type");
    like($r->{headers}{'content-type'} // '', qr{^application/json},
         "$name - JSON");
    like($r->{headers}{'helicone-id'} // '', $uuid_re, "$name - Helicone-Id");
    is(scalar $up->requests->@* + scalar $other->requests->@*,
       $seen{up} + $seen{other}, "$name - nothing sent upstream");

    my $ev = event_of($r);
    is($ev->{log}{response}{status}, 400, "$name - logged");
}

# ------------------------------------------------------------ refusals

check_refused(target_post('/explicit/v1/chat/completions', undef),
              'missing_target_url', 'target - missing header');

check_refused(target_post('/explicit/v1/chat/completions', ''),
              'missing_target_url', 'target - empty header');

for my $bad ('ftp://127.0.0.1:' . $other->port, '127.0.0.1:' . $other->port,
             'not a url', 'http://', 'http://127.0.0.1:abc/',
             'http://user@127.0.0.1/', '//127.0.0.1:' . $other->port)
{
    check_refused(target_post('/explicit/v1/chat/completions', $bad),
                  'invalid_target_url', "target - invalid \"$bad\"");
}

# only loopback origins, or public ones refused before any connection
check_refused(target_post('/explicit/v1/chat/completions', $up_origin),
              'target_not_allowed',
              'target - provider origin without "providers"');

check_refused(target_post('/explicit/v1/chat/completions',
                          'https://api.openai.com'),
              'target_not_allowed', 'target - public origin not listed');

check_refused(target_post('/explicit/v1/chat/completions',
                          'https://127.0.0.1:' . $other->port),
              'target_not_allowed', 'target - other scheme');

check_refused(target_post('/explicit/v1/chat/completions',
                          'http://127.0.0.1'),
              'target_not_allowed', 'target - other port');

check_refused(target_post('/explicit/v1/chat/completions',
                          'http://localhost:' . $other->port),
              'target_not_allowed', 'target - other host name');

check_refused(target_post('/default/v1/chat/completions', $other_origin),
              'target_not_allowed',
              'target - default allowlist has providers only');

# ------------------------------------------------------------ allowed

$r = target_post('/explicit/v1/chat/completions?keep=1',
                 "$other_origin/ignored/path?ignored=1",
                 [ 'Authorization', 'Bearer sk-client-own-key' ],
                 [ 'Helicone-Property-Team', 't1' ],
                 [ 'X-Custom', 'kept' ]);

is($r->{status}, 200, 'target - allowed origin, status');
is($r->{json}{choices}[0]{message}{content}, 'Hello from mock',
   'target - body relayed');
like($r->{headers}{'helicone-id'} // '', $uuid_re, 'target - Helicone-Id');

$got = next_request('other') // {};
is($got->{path}, '/explicit/v1/chat/completions?keep=1',
   'target - incoming path and query, the header\'s ignored');
is($got->{headers}{authorization}, 'Bearer sk-client-own-key',
   'target - client Authorization passes');
is($got->{headers}{'x-custom'}, 'kept', 'target - custom header passes');
is($got->{headers}{host}, '127.0.0.1:' . $other->port,
   'target - Host is the target\'s');
is_deeply([ grep { /^helicone-/ } @{ names($got) } ], [],
          'target - no Helicone-* header upstream (Target-Url included)');
is($got->{json}{model}, 'gpt-4o-mini', 'target - body sent');

$ev = event_of($r);
is($ev->{log}{request}{targetUrl},
   "$other_origin/explicit/v1/chat/completions?keep=1",
   'target - event target url');
is($ev->{log}{request}{provider}, 'CUSTOM', 'target - custom provider');
is_deeply($ev->{log}{request}{properties}, { team => 't1' },
          'target - event properties');

# header name in any case, origin with a trailing slash
$r = target_post('/explicit/v1/chat/completions', undef,
                 [ 'helicone-target-url', "$other_origin/" ]);
is($r->{status}, 200, 'target - lower-case header name, trailing slash');
$got = next_request('other') // {};
is($got->{path}, '/explicit/v1/chat/completions',
   'target - trailing slash not doubled');

# the providers keyword, and the default: known providers' origins, but
# never one on an internal host (openai, set to the loopback mock here):
# such an origin must be listed itself
$r = target_post('/default/v1/chat/completions?d=1', "$up_origin/v1");
is($r->{status}, 400, 'target - default refuses a provider on loopback');
is($r->{json}{error}{code}, 'target_not_allowed',
   'target - loopback provider, not allowed');

$r = target_post('/both/v1/chat/completions', $up_origin);
is($r->{status}, 400,
   'target - "providers" keyword refuses a provider on loopback');

$r = target_post('/both/v1/chat/completions', $other_origin);
is($r->{status}, 200, 'target - "providers" keyword keeps listed origins');
$got = next_request('other') // {};
is($got->{path}, '/both/v1/chat/completions', 'target - listed, path');

# non-JSON and GET in target mode too
$r = $t->http(port => $tgt, method => 'POST', path => '/explicit/raw/echo',
              body => $bin,
              headers => [ [ 'Helicone-Target-Url', $other_origin ],
                           [ 'Content-Type', 'application/octet-stream' ] ]);
is($r->{status}, 201, 'target non-JSON - status');
is($r->{body}, $bin, 'target non-JSON - relayed');
$got = next_request('other') // {};
is($got->{body}, $bin, 'target non-JSON - body byte-identical');

$r = $t->http(port => $tgt, method => 'GET', path => '/explicit/v1/models',
              headers => [ [ 'Helicone-Target-Url', $other_origin ] ]);
is($r->{status}, 200, 'target GET - status');
$got = next_request('other') // {};
is($got->{method}, 'GET', 'target GET - method');
is($got->{body}, '', 'target GET - no body');

# provider errors relayed
$r = target_post('/explicit/v1/fail/502', $other_origin);
is($r->{status}, 502, 'target 502 - relayed as is');
is($r->{body}, '{"error":{"message":"mock failure 502",'
               . '"type":"mock_error","code":"m502"}}',
   'target 502 - provider body relayed');
like($r->{headers}{'helicone-id'} // '', $uuid_re, 'target 502 - Helicone-Id');
$got = next_request('other') // {};

$r = target_post('/explicit/v1/fail/422', $other_origin);
is($r->{status}, 422, 'target 422 - relayed as is');
$got = next_request('other') // {};

# ---------------------------------------------------------------- totals

is(scalar $up->requests->@*, $seen{up}, 'totals - provider mock');
is(scalar $other->requests->@*, $seen{other}, 'totals - target mock');

$t->stop;

$t->check_no_alerts;

done_testing;

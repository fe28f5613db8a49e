#!/usr/bin/perl

# Tests for the helicone log event: one JSON line per request with the
# fields of the Helicone message, Helicone-* headers, omitted and capped
# bodies, odd bytes, the file sink's reopen, buffer and flush, and
# helicone_log off.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Encode ();
use JSON::PP;
use Test::More;
use Time::HiRes qw(time);

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $model = 'gpt-4o-mini';

my $openai = $t->mock_llm('openai', handler => sub {
    my ($req) = @_;
    my $c = ref $req->{json} eq 'HASH'
            ? $req->{json}{messages}[0]{content} // '' : '';

    if ($c eq 'big reply') {
        return { json => MockLLM::openai_completion($model, 'y' x 100_000) };
    }

    if ($c eq 'never usage') {
        # a provider that reports no usage, whatever it is asked
        return { sse => [
            MockLLM::sse_data(MockLLM::openai_chunk($model, 'Hi', undef)),
            MockLLM::sse_data(MockLLM::openai_chunk($model, '', 'stop')),
            "data: [DONE]\n\n" ] };
    }

    if ($c eq 'usage in the last chunk') {
        # a provider that reports usage with its last choice, in no chunk
        # of its own, even when asked for it
        my $last = HgTest::json_encode({
            id => 'chatcmpl-mock', object => 'chat.completion.chunk',
            created => 1700000000, model => $model,
            choices => [ { index => 0, delta => {},
                           finish_reason => 'stop' } ],
            usage => { prompt_tokens => 7, completion_tokens => 2,
                       total_tokens => 9 } });
        return { sse => [
            MockLLM::sse_data(MockLLM::openai_chunk($model, 'Hi', undef)),
            MockLLM::sse_data($last),
            "data: [DONE]\n\n" ] };
    }

    return undef;
});

my $key = 'sk-helicone-test-key-1234';
my $org = '7d3d4bd8-2a0e-4a41-9a8e-3c2a6f0f5a11';
$t->write_file('keys', sha256_hex("Bearer $key") . " $org tests\n");

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_keys %%DIR%%/keys;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }

        location /auth/ {
            helicone_pass gateway;
            helicone_auth required;
        }

        location /small/ {
            helicone_pass gateway;
            helicone_log_body_max 256;
        }

        location /off/ {
            helicone_pass gateway;
            helicone_log off;
        }

        location /wide/ {
            helicone_pass gateway;
            helicone_log_body_max 1m;
        }

        location /buffered/ {
            helicone_pass gateway;
            helicone_log file path=%%DIR%%/buffered.jsonl
                         buffer=64k flush=200ms;
        }

        location /held/ {
            helicone_pass gateway;
            helicone_log file path=%%DIR%%/held.jsonl buffer=64k flush=1h;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_proxy%%;
        include %%ATTEMPT_CONF%%;

        location / {
            helicone_pass openai;
        }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my $uuid4 = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-
               [0-9a-f]{12}$/x;
my $iso = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
my $nlogged = 0;    # requests that must leave one event

sub msgs { [ { role => 'user', content => $_[0] // 'hi' } ] }

sub call {
    my (%a) = @_;
    my $path = delete $a{path} // '/v1/chat/completions';
    $nlogged++ unless $path =~ m{^/off/};
    return $t->chat(port => $gw, path => $path, %a);
}

# the event with this id; only its line is decoded
sub event_in {
    my ($file, $id, %opt) = @_;
    my $found;

    $id //= '';

    $t->wait_for(sub {
        my $text = $t->read_file($file) // return;
        $text =~ /^(.*"id":"\Q$id\E".*)\n/m or return;
        $found = HgTest::json_decode($1);
        $found = undef unless $found->{id} eq $id;
    }, timeout => $opt{timeout} // 5);

    return $found;
}

sub event { event_in('helicone.jsonl', @_) // {} }

# ------------------------------------------------------- every field

my $body = HgTest::json_encode({ model => $model, messages => msgs('hello'),
                                 user => 'body-user' });

my $r = call(body => $body,
             headers => [ [ 'Helicone-User-Id', 'alice' ],
                          [ 'Helicone-Property-App-Name', 'demo' ],
                          [ 'Helicone-Property-MiXeD', 'Case Kept' ],
                          [ 'Helicone-Session-Id', 'sess-1' ],
                          [ 'Helicone-Session-Path', '/a/b' ],
                          [ 'Helicone-Session-Name', 'Trip' ],
                          [ 'Helicone-Prompt-Id', 'prompt-7' ],
                          [ 'Helicone-Model-Override', 'my-override' ] ]);

is($r->{status}, 200, 'full - served');

my $ev = event($r->{headers}{'helicone-id'});
my $rq = $ev->{log}{request} // {};
my $rs = $ev->{log}{response} // {};
my $target = $openai->url . '/v1/chat/completions';

is($ev->{schema_version}, 1, 'full - schema_version');
like($ev->{id} // '', $uuid4, 'full - id');
ok(exists $ev->{organizationId} && !defined $ev->{organizationId},
   'full - no organization without auth');
is_deeply($ev->{heliconeMeta},
          { omitRequestLog => JSON::PP::false,
            omitResponseLog => JSON::PP::false,
            modelOverride => 'my-override',
            gatewayProvider => 'openai',
            providerModelId => $model }, 'full - heliconeMeta');

is($rq->{id}, $ev->{id}, 'full - request id');
is($rq->{userId}, 'alice', 'full - user id from the header');
is_deeply($rq->{properties},
          { 'app-name' => 'demo', mixed => 'Case Kept',
            'Helicone-Session-Id' => 'sess-1',
            'Helicone-Session-Path' => '/a/b',
            'Helicone-Session-Name' => 'Trip',
            'Helicone-Prompt-Id' => 'prompt-7' }, 'full - properties');
is($rq->{provider}, 'OPENAI', 'full - legacy provider');
is($rq->{targetUrl}, $target, 'full - target URL');
is($rq->{path}, 'http://127.0.0.1/v1/chat/completions', 'full - path');

# the URL as the client addressed it: with the port of its Host header
my $hp = call(body => $body, headers => [ [ 'Host', "127.0.0.1:$gw" ] ]);
is(event($hp->{headers}{'helicone-id'})->{log}{request}{path},
   "http://127.0.0.1:$gw/v1/chat/completions", 'path - with the port');
is($rq->{bodySize}, length $body, 'full - request body size');
is($rq->{isStream}, JSON::PP::false, 'full - not a stream');
like($rq->{requestCreatedAt} // '', $iso, 'full - request time');
is($rq->{model}, $model, 'full - request model');
is($rq->{cacheReferenceId}, '00000000-0000-0000-0000-000000000000',
   'full - nil cache reference');
is($rq->{body}, $body, 'full - request body');
is($rq->{bodyTruncated}, JSON::PP::false, 'full - request body whole');

like($rs->{id} // '', $uuid4, 'full - response id');
isnt($rs->{id}, $ev->{id}, 'full - response id is its own');
is($rs->{status}, 200, 'full - status');
is($rs->{httpStatus}, 200, 'full - http status');
is($rs->{bodySize}, length $r->{body}, 'full - response body size');
like($rs->{responseCreatedAt} // '', $iso, 'full - response time');
ok(($rs->{responseCreatedAt} // '') ge ($rq->{requestCreatedAt} // 'z'),
   'full - response not before request');
ok(defined $rs->{delayMs} && $rs->{delayMs} >= 0, 'full - delay');
is($rs->{promptTokens}, 11, 'full - prompt tokens');
is($rs->{completionTokens}, 3, 'full - completion tokens');
is($rs->{promptCacheReadTokens}, 0, 'full - cache read tokens');
is($rs->{reasoningTokens}, 0, 'full - reasoning tokens');
ok(exists $rs->{promptCacheWriteTokens}
   && !defined $rs->{promptCacheWriteTokens},
   'full - unknown cache write tokens null');
is($rs->{model}, $model, 'full - response model');
# priced by the model served: the override only renames
ok(defined $rs->{cost} && $rs->{cost} > 0,
   'full - cost of the served model, not the override');
is($rs->{body}, $r->{body}, 'full - response body');
is($rs->{bodyTruncated}, JSON::PP::false, 'full - response body whole');

my $att = $ev->{attempts}[0] // {};
is(scalar @{ $ev->{attempts} // [] }, 1, 'full - one attempt');
is($att->{provider}, 'openai', 'full - attempt provider');
is($att->{model}, $model, 'full - attempt model');
is($att->{url}, $target, 'full - attempt url');
is($att->{status}, 200, 'full - attempt status');
is($att->{outcome}, 'ok', 'full - attempt outcome');
ok(!exists $att->{error}, 'full - attempt without error');
ok(defined $att->{startMs} && defined $att->{ttfbMs}
   && defined $att->{durationMs} && $att->{ttfbMs} <= $att->{durationMs},
   'full - attempt times');
is($ev->{aborted}, JSON::PP::false, 'full - not aborted');
is($ev->{truncated}, JSON::PP::false, 'full - not truncated');
is($ev->{cacheHit}, JSON::PP::false, 'full - no cache hit');

# ------------------------------------------------------------- user id

$r = call(json => { model => $model, messages => msgs(), user => 'bob' });
is(event($r->{headers}{'helicone-id'})->{log}{request}{userId}, 'bob',
   'user id - from the body');

$r = call(json => { model => $model, messages => msgs(), user => 42 });
is(event($r->{headers}{'helicone-id'})->{log}{request}{userId}, '',
   'user id - a non-string body user is ignored');

$r = call(json => { model => $model, messages => msgs() });
is(event($r->{headers}{'helicone-id'})->{log}{request}{userId}, '',
   'user id - empty without one');

# ------------------------------------------------------------------ omit

$r = call(json => { model => $model, messages => msgs() },
          headers => [ [ 'Helicone-Omit-Request', 'true' ] ]);
$ev = event($r->{headers}{'helicone-id'});
is($ev->{heliconeMeta}{omitRequestLog}, JSON::PP::true,
   'omit request - flag');
ok(!exists $ev->{log}{request}{body}, 'omit request - no request body');
ok(exists $ev->{log}{response}{body}, 'omit request - response body kept');
is($ev->{log}{request}{bodySize}, length HgTest::json_encode(
   { model => $model, messages => msgs() }), 'omit request - size kept');

$r = call(json => { model => $model, messages => msgs() },
          headers => [ [ 'Helicone-Omit-Response', 'true' ] ]);
$ev = event($r->{headers}{'helicone-id'});
is($ev->{heliconeMeta}{omitResponseLog}, JSON::PP::true,
   'omit response - flag');
ok(!exists $ev->{log}{response}{body}, 'omit response - no response body');
ok(exists $ev->{log}{request}{body}, 'omit response - request body kept');
is($ev->{log}{response}{promptTokens}, 11, 'omit response - usage kept');

$r = call(json => { model => $model, messages => msgs() },
          headers => [ [ 'Helicone-Omit-Request', 'false' ] ]);
$ev = event($r->{headers}{'helicone-id'});
is($ev->{heliconeMeta}{omitRequestLog}, JSON::PP::false,
   'omit request false - flag');
ok(exists $ev->{log}{request}{body}, 'omit request false - body kept');

# ----------------------------------------------------------- body caps

my $long = HgTest::json_encode({ model => $model,
                                 messages => msgs('x' x 600) });

$r = call(path => '/small/chat/completions', body => $long);
is($r->{status}, 200, 'cap 256 - served');
$ev = event($r->{headers}{'helicone-id'});
is($ev->{log}{request}{body}, substr($long, 0, 256), 'cap 256 - request body');
is($ev->{log}{request}{bodyTruncated}, JSON::PP::true,
   'cap 256 - request body truncated');
is($ev->{log}{request}{bodySize}, length $long, 'cap 256 - full size');
is($ev->{log}{response}{body}, substr($r->{body}, 0, 256),
   'cap 256 - response body');
is($ev->{log}{response}{bodyTruncated}, JSON::PP::true,
   'cap 256 - response body truncated');
is($ev->{log}{response}{promptTokens}, 11, 'cap 256 - usage still read');

my $huge = HgTest::json_encode({ model => $model,
                                 messages => msgs('x' x 100_000) });

$r = call(body => $huge);
is($r->{status}, 200, 'cap 64k - served');
$ev = event($r->{headers}{'helicone-id'});
is(length($ev->{log}{request}{body} // ''), 65536,
   'cap 64k - request body at the default cap');
is($ev->{log}{request}{bodyTruncated}, JSON::PP::true,
   'cap 64k - request body truncated');
my @got = $openai->requests;
is($got[-1]{body}, $huge, 'cap 64k - provider got the whole body');

$r = call(json => { model => $model, messages => msgs('big reply') });
is(length $r->{body}, length(HgTest::json_encode(
   MockLLM::openai_completion($model, 'y' x 100_000))),
   'cap 64k - client got the whole response');
$ev = event($r->{headers}{'helicone-id'});
is(length($ev->{log}{response}{body} // ''), 65536,
   'cap 64k - response body at the default cap');
is($ev->{log}{response}{bodyTruncated}, JSON::PP::true,
   'cap 64k - response body truncated');
is($ev->{log}{response}{bodySize}, length $r->{body},
   'cap 64k - response size is the whole');

# ------------------------------------------- events of every size

# Quotes escape to twice their size, more than an event is first given
# room for: measured, then written into the worker's buffer grown to
# fit (40k quotes), or past its largest size into the request's pool
# (300k); a small event after each must not keep a byte of them.

for my $n (40_000, 300_000, 40_000) {
    my $quotes = HgTest::json_encode({ model => $model,
                                       messages => msgs('"' x $n) });

    $r = call(path => '/wide/chat/completions', body => $quotes);
    is($r->{status}, 200, "$n quotes - served");
    $ev = event($r->{headers}{'helicone-id'});
    is($ev->{log}{request}{body}, $quotes, "$n quotes - request body whole");
    is($ev->{log}{request}{bodyTruncated}, JSON::PP::false,
       "$n quotes - not truncated");

    $body = HgTest::json_encode({ model => $model, messages => msgs('s') });
    $r = call(path => '/wide/chat/completions', body => $body);
    $ev = event($r->{headers}{'helicone-id'});
    is($ev->{log}{request}{body}, $body, "$n quotes - the next event");
    is($ev->{log}{response}{body}, $r->{body},
       "$n quotes - the next event's response");
}

# --------------------------------------------------------------- streams

$r = call(json => { model => $model, messages => msgs('never usage'),
                    stream => JSON::PP::true });
$ev = event($r->{headers}{'helicone-id'});
ok(exists $ev->{log}{response}{promptTokens}
   && !defined $ev->{log}{response}{promptTokens},
   'stream without usage - prompt tokens null');
ok(exists $ev->{log}{response}{completionTokens}
   && !defined $ev->{log}{response}{completionTokens},
   'stream without usage - completion tokens null');
ok(exists $ev->{log}{response}{cost} && !defined $ev->{log}{response}{cost},
   'stream without usage - cost null, never 0');

# the gateway asks for usage itself, and the client does not see it
$r = call(json => { model => $model, messages => msgs(),
                    stream => JSON::PP::true });
$ev = event($r->{headers}{'helicone-id'});
is($ev->{log}{request}{isStream}, JSON::PP::true, 'stream - isStream');
is($ev->{log}{response}{promptTokens}, 11,
   'stream without include_usage - usage known all the same');
# (the "usage": null OpenAI then puts in every other chunk does)
is(scalar(grep { ($_->{data} // '') =~ /"usage":(?!null)/ } @{ $r->{events} }),
   0, 'stream without include_usage - no usage chunk reaches the client');
is($r->{events}[-1]{data}, '[DONE]',
   'stream without include_usage - the stream still ends with [DONE]');
is($ev->{log}{response}{model}, $model, 'stream - model from the chunks');
is($ev->{log}{response}{body}, $r->{body}, 'stream - body is the SSE text');
ok(defined $ev->{log}{response}{timeToFirstToken},
   'stream - time to first token');

# usage that comes with a choice is the client's chunk too: only a chunk
# of usage alone (no choices) is the one the gateway asked for
$r = call(json => { model => $model,
                    messages => msgs('usage in the last chunk'),
                    stream => JSON::PP::true });
$ev = event($r->{headers}{'helicone-id'});
is(scalar(grep { ($_->{data} // '') =~ /"finish_reason":"stop"/ }
          @{ $r->{events} }), 1,
   'usage with the last choice - that chunk reaches the client');
is($ev->{log}{response}{promptTokens}, 7,
   'usage with the last choice - usage logged');
is($r->{events}[-1]{data}, '[DONE]',
   'usage with the last choice - the stream ends with [DONE]');

$r = call(json => { model => $model, messages => msgs(),
                    stream => JSON::PP::true,
                    stream_options => { include_usage => JSON::PP::true } });
$ev = event($r->{headers}{'helicone-id'});
is($ev->{log}{response}{promptTokens}, 11, 'stream with usage - prompt');
is($ev->{log}{response}{completionTokens}, 3, 'stream with usage - completion');

# -------------------------------------------------------------- auth

$r = call(path => '/auth/chat/completions',
          json => { model => $model, messages => msgs() });
is($r->{status}, 401, 'auth - 401 without a key');
$ev = event($r->{headers}{'helicone-id'});
is($ev->{log}{response}{status}, 401, 'auth - 401 logged');
is(scalar @{ $ev->{attempts} // [ 1 ] }, 0, 'auth - 401 without attempts');

$r = call(path => '/auth/chat/completions',
          json => { model => $model, messages => msgs() },
          headers => [ [ 'Authorization', "Bearer $key" ] ]);
is($r->{status}, 200, 'auth - served with the key');
$ev = event($r->{headers}{'helicone-id'});
is($ev->{organizationId}, $org, 'auth - organization of the key');
unlike($t->read_file('helicone.jsonl'), qr/\Q$key\E/, 'auth - key not logged');

# ------------------------------------------------------------- odd bytes

my $odd = "q\"b\\c\x01\t\x1f\x7f\xff\xfe\xc3(end";
my $odd_want = "q\"b\\c\x01\t\x1f\x7f\x{fffd}\x{fffd}\x{fffd}(end";

$r = call(json => { model => $model, messages => msgs() },
          headers => [ [ 'Helicone-Property-Odd', $odd ],
                       [ 'Helicone-User-Id', "u\"\\\xe2\x82" ],
                       [ 'Helicone-Session-Name', "\xf0\x9f\x98\x80 ok" ] ]);
is($r->{status}, 200, 'odd headers - served');
$ev = event($r->{headers}{'helicone-id'});
is($ev->{log}{request}{properties}{odd}, $odd_want,
   'odd headers - quotes, backslashes, controls kept; bad UTF-8 replaced');
like($ev->{log}{request}{userId} // "", qr/^u"\\\x{fffd}+\z/,
     "odd headers - user id, truncated UTF-8 replaced");
is($ev->{log}{request}{properties}{'Helicone-Session-Name'}, "\x{1f600} ok",
   'odd headers - valid UTF-8 kept');

# many properties that grow sixfold when escaped
my @many = map { [ "Helicone-Property-P$_", "\x01\"\\" x 60 ] } 1 .. 30;
$r = call(json => { model => $model, messages => msgs() }, headers => \@many);
is($r->{status}, 200, 'many properties - served');
$ev = event($r->{headers}{'helicone-id'});
is(scalar keys %{ $ev->{log}{request}{properties} // {} }, 30,
   'many properties - all logged');
is($ev->{log}{request}{properties}{p30}, "\x01\"\\" x 60,
   'many properties - value intact');

# a body that is not UTF-8 in proxy mode goes upstream as it is
my $bad = qq({"model":"$model","messages":[{"role":"user",)
          . qq("content":"\xff\xfe\x00\x01 \xed\xa0\x80"}]});

$nlogged++;
$r = $t->chat(port => $t->port('proxy'), body => $bad);
ok($r->{status}, 'proxy, bad UTF-8 body - answered');
@got = $openai->requests;
is($got[-1]{body}, $bad, 'proxy, bad UTF-8 body - forwarded byte for byte');
$ev = event($r->{headers}{'helicone-id'});
ok(defined $ev->{log}{request}{body}
   && $ev->{log}{request}{body} =~ /\x{fffd}/,
   'proxy, bad UTF-8 body - logged with replacement characters');
is($ev->{log}{request}{bodySize}, length $bad, 'proxy, bad UTF-8 body - size');

# ------------------------------------------------------------- keep-alive

my $sock = $t->http_connect($gw);
my @ka;

for my $stream (0, 1, 0) {
    $nlogged++;
    push @ka, $t->chat(sock => $sock, port => $gw,
                       json => { model => $model, messages => msgs(),
                                 $stream ? (stream => JSON::PP::true) : () });
}

$nlogged++;
push @ka, $t->chat(sock => $sock, port => $gw,
                   json => { model => 'no-such-model', messages => msgs() });
close $sock;

is(join(' ', map { $_->{status} } @ka), '200 200 200 404',
   'keep-alive - four answers on one connection');

my %ka_ids = map { ($_->{headers}{'helicone-id'} // '') => 1 } @ka;
is(scalar keys %ka_ids, 4, 'keep-alive - an id each');
is(scalar(grep { event($_)->{id} } keys %ka_ids), 4,
   'keep-alive - an event each');

# ------------------------------------------------------ long values

# the model appears in request.model, heliconeMeta.providerModelId,
# attempts[].model and response.model
my $long_model = 'm' x 4000;

$r = call(json => { model => "$long_model/openai", messages => msgs() });
is($r->{status}, 200, 'long model - served');
$ev = event($r->{headers}{'helicone-id'}, timeout => 1);
ok(($ev->{heliconeMeta}{providerModelId} // '') eq $long_model,
   'long model - event written');

# proxy mode: the client's URI is in path, targetUrl and attempts[].url
my $query = '?q=' . ('a' x 4000);

$nlogged++;
$r = $t->chat(port => $t->port('proxy'),
              path => "/v1/chat/completions$query",
              json => { model => $model, messages => msgs() });
is($r->{status}, 200, 'long URI - served');
$ev = event($r->{headers}{'helicone-id'}, timeout => 1);
ok(($ev->{attempts}[0]{url} // '') eq $openai->url
                                      . "/v1/chat/completions$query",
   'long URI - event written');

# ------------------------------------------------------- helicone_log off

my $before = () = $t->read_jsonl('helicone.jsonl');

$r = call(path => '/off/chat/completions',
          json => { model => $model, messages => msgs() });
is($r->{status}, 200, 'log off - served');
my $off_id = $r->{headers}{'helicone-id'};

$r = call(json => { model => $model, messages => msgs() });
event($r->{headers}{'helicone-id'});

my @now = $t->read_jsonl('helicone.jsonl');
is(scalar @now, $before + 1, 'log off - only the next request logged');
ok(!grep({ $_->{id} eq $off_id } @now), 'log off - no event for it');

# ---------------------------------------------------------------- reopen

my ($worker) = $t->worker_pids;
my $off = $t->log_offset;

rename $t->path('helicone.jsonl'), $t->path('helicone.jsonl.1')
    or die "rename: $!\n";
$t->reopen;

ok($t->wait_log(qr/ $worker#\d+: reopening logs/, since => $off),
   'reopen - worker reopened its files');

$r = call(json => { model => $model, messages => msgs() });
my $rid = $r->{headers}{'helicone-id'};

ok(event_in('helicone.jsonl', $rid), 'reopen - next event in the new file');
ok(!grep({ $_->{id} eq $rid } $t->read_jsonl('helicone.jsonl.1')),
   'reopen - not in the renamed file');

# disk reserved past the end (fallocate, the size kept): in the renamed
# file, and in the new one from its first event on

SKIP: {
    my $probe = $t->path('probe');
    $t->write_file('probe', '');
    skip 'no fallocate here', 3
        unless system("fallocate -n -l 1M '$probe' 2>/dev/null") == 0;

    my (@old) = (stat $t->path('helicone.jsonl.1'))[7, 12];
    my (@new) = (stat $t->path('helicone.jsonl'))[7, 12];

    ok($old[1] * 512 >= $old[0] + 64 * 1024,
       'reserve - disk reserved past the renamed file\'s end');
    ok($new[1] * 512 >= $new[0] + 512 * 1024,
       'reserve - and past the new file\'s first event');
    like($t->read_file('helicone.jsonl'), qr/\A(?:\{[^\n]*\}\n)+\z/,
         'reserve - the size kept: nothing but lines in the file');
}

# ------------------------------------------------ one turn, many lines

# Without buffer= a worker writes the lines of one event-loop turn
# together at its end: 40 requests at once, some with events larger than
# what a turn collects (64 KB), each leave their line, whole, once.

{
    my $big = HgTest::json_encode({ model => $model,
                                    messages => msgs('"' x 40_000) });
    my @kids;

    for my $i (1 .. 40) {
        my $pid = fork // die $!;
        if ($pid == 0) {
            my $res = $t->chat(port => $gw, timeout => 30,
                               path => $i % 8 ? '/v1/chat/completions'
                                               : '/wide/chat/completions',
                               headers => [ [ 'Helicone-User-Id',
                                              "turn-$i" ] ],
                               body => $i % 8 ? HgTest::json_encode(
                                   { model => $model, messages => msgs() })
                                   : $big);
            POSIX::_exit($res->{status} == 200 ? 0 : 1);
        }
        push @kids, $pid;
    }

    my $bad = 0;
    for (@kids) { waitpid($_, 0); $bad++ if $? }
    $nlogged += 40;

    is($bad, 0, 'one turn - 40 requests at once served');

    my %seen;
    $t->wait_for(sub {
        %seen = ();
        for my $line (split /\n/, $t->read_file('helicone.jsonl') // '') {
            my $u = $line =~ /"userId":"(turn-\d+)"/ ? $1 : next;
            my $e = eval { HgTest::json_decode($line) } or next;
            $seen{$u}++ if $e->{log}{request}{userId} eq $u;
        }
        keys %seen == 40;
    }, timeout => 10);

    is(scalar(keys %seen), 40, 'one turn - a whole line for each request');
    is(scalar(grep { $_ != 1 } values %seen), 0, 'one turn - each once');
}

# ------------------------------------------------------- buffer and flush

$r = call(path => '/buffered/chat/completions',
          json => { model => $model, messages => msgs() });
my $sent = time;
my $early = () = $t->read_jsonl('buffered.jsonl');
my $looked = time - $sent;

# written at once would be a line by now; a slow host may pass the 200 ms
ok($early == 0 || $looked > 0.2, 'buffered - not written at once');
ok(event_in('buffered.jsonl', $r->{headers}{'helicone-id'}, timeout => 2),
   'buffered - flushed within its interval, without more traffic');
ok(time - $sent < 1.5, 'buffered - flushed in time');

$r = call(path => '/held/chat/completions',
          json => { model => $model, messages => msgs() });
my $held_id = $r->{headers}{'helicone-id'};

ok(!event_in('held.jsonl', $held_id, timeout => 0.5),
   'held - still in the buffer');

$t->stop;

ok(grep({ $_->{id} eq $held_id } $t->read_jsonl('held.jsonl')),
   'held - written on quit');

# ------------------------------------------------------------ every line

my $lines = 0;

for my $file (qw(helicone.jsonl.1 helicone.jsonl buffered.jsonl held.jsonl)) {
    my $text = $t->read_file($file) // '';
    my @bad;

    push @bad, 'no final newline' if length $text && $text !~ /\n\z/;

    for my $line (split /\n/, $text) {
        $lines++;
        my $copy = $line;

        push @bad, "line $lines: not UTF-8"
            unless eval { Encode::decode('UTF-8', $copy, Encode::FB_CROAK);
                          1 };
        push @bad, "line $lines: raw control character"
            if $line =~ /[\x00-\x1f]/;
        push @bad, "line $lines: not JSON: $@"
            unless eval { ref HgTest::json_decode($line) eq 'HASH' };
    }

    ok(!@bad, "$file - every line a JSON object in UTF-8")
        or diag(join "\n", @bad);
}

is($lines, $nlogged, 'one event per request');

$t->check_no_alerts;

done_testing;

#!/usr/bin/perl

# Tests for helicone gateway mode: routing by model, the provider key,
# what the provider receives, what the client gets, one log line each.

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
my $groq = $t->mock_llm('groq');

$ENV{HG_TEST_OPENAI_KEY} = 'sk-openai-secret-123';
$t->write_file('groq.key', "gsk-groq-secret-456\n");

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%%;
    helicone_provider groq url=http://127.0.0.1:%%PORT_groq%%/openai;
    helicone_provider_key openai env=HG_TEST_OPENAI_KEY;
    helicone_provider_key groq file=%%DIR%%/groq.key;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;
        location /v1/ { helicone_pass gateway; }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my $messages = [ { role => 'user', content => 'hi' } ];

# ------------------------------------------------------------ non-stream

my $r = $t->chat(
    port    => $gw,
    json    => { model => 'gpt-4o-mini', messages => $messages },
    headers => [ [ 'Authorization', 'Bearer sk-helicone-client' ],
                 [ 'Helicone-Property-App', 'demo' ],
                 [ 'helicone-user-id', 'alice' ],
                 [ 'OpenAI-Organization', 'org-1' ] ],
);

is($r->{status}, 200, 'non-stream - status');
is($r->{json}{choices}[0]{message}{content}, 'Hello from mock',
   'non-stream - provider body relayed');
like($r->{headers}{'helicone-id'},
     qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
     'non-stream - Helicone-Id is a UUIDv4');
is($r->{headers}{'helicone-status'}, 'success', 'non-stream - status header');
is($r->{headers}{'helicone-provider'}, 'openai', 'non-stream - provider');
is($r->{headers}{'helicone-model'}, 'gpt-4o-mini', 'non-stream - model');
is($r->{headers}{'content-length'}, length $r->{body},
   'non-stream - content length kept');

my @req = $openai->wait_requests(1);
my $got = $req[0];

is($got->{path}, '/v1/chat/completions', 'provider - chat path');
is($got->{headers}{authorization}, 'Bearer sk-openai-secret-123',
   'provider - stored key injected, client key not forwarded');
is($got->{headers}{'openai-organization'}, 'org-1',
   'provider - other client headers forwarded');
is(scalar(grep { $_->[0] =~ /^helicone-/i } @{ $got->{header_list} }), 0,
   'provider - no Helicone-* header');
is($got->{json}{model}, 'gpt-4o-mini', 'provider - model');
is_deeply($got->{json}{messages}, $messages, 'provider - messages intact');

my ($ev) = $t->wait_jsonl('helicone.jsonl', 1);

is($ev->{id}, $r->{headers}{'helicone-id'}, 'event - id is Helicone-Id');
is($ev->{log}{request}{id}, $ev->{id}, 'event - request id');
is($ev->{log}{request}{userId}, 'alice', 'event - user id');
is_deeply($ev->{log}{request}{properties}, { app => 'demo' },
          'event - properties, names lower-cased');
is($ev->{log}{request}{provider}, 'OPENAI', 'event - legacy provider');
is($ev->{heliconeMeta}{gatewayProvider}, 'openai', 'event - gateway provider');
is($ev->{log}{request}{model}, 'gpt-4o-mini', 'event - requested model');
is($ev->{log}{response}{model}, 'gpt-4o-mini', 'event - served model');
is($ev->{log}{response}{status}, 200, 'event - status');
is($ev->{log}{response}{promptTokens}, 11, 'event - prompt tokens');
is($ev->{log}{response}{completionTokens}, 3, 'event - completion tokens');
is($ev->{log}{response}{promptCacheReadTokens}, 0, 'event - cached tokens');
is($ev->{log}{request}{isStream}, JSON::PP::false, 'event - not a stream');
like($ev->{log}{request}{requestCreatedAt},
     qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'event - ISO time');
is(scalar @{ $ev->{attempts} }, 1, 'event - one attempt');
is($ev->{attempts}[0]{outcome}, 'ok', 'event - attempt ok');
unlike($t->read_file('helicone.jsonl'), qr/sk-openai-secret|sk-helicone-client/,
       'event - no keys in the log');

# ---------------------------------------------------------------- stream

$r = $t->chat(
    port => $gw,
    json => { model => 'gpt-4o-mini', messages => $messages,
              stream => JSON::PP::true,
              stream_options => { include_usage => JSON::PP::true } },
);

is($r->{status}, 200, 'stream - status');
like($r->{headers}{'content-type'}, qr{^text/event-stream}, 'stream - type');
is($r->{complete}, 1, 'stream - complete chunked body');
is($r->{events}[-1]{data}, '[DONE]', 'stream - ends with [DONE]');
is(join('', map { $_->{json} ? ($_->{json}{choices}[0]{delta}{content} // '')
                             : '' } @{ $r->{events} }),
   'Hello from mock', 'stream - content relayed');

my @evs = $t->wait_jsonl('helicone.jsonl', 2);

is($evs[1]{log}{request}{isStream}, JSON::PP::true, 'stream event - stream');
is($evs[1]{log}{response}{promptTokens}, 11, 'stream event - usage');
ok(defined $evs[1]{log}{response}{timeToFirstToken},
   'stream event - time to first token');
is($evs[1]{truncated}, JSON::PP::false, 'stream event - not truncated');

# ------------------------------------------------- model/provider routing

$r = $t->chat(port => $gw,
              json => { model => 'llama-3.3-70b-versatile/groq',
                        messages => $messages });

is($r->{status}, 200, 'groq - status');
is($r->{headers}{'helicone-provider'}, 'groq', 'groq - provider header');

@req = $groq->wait_requests(1);
is($req[0]{path}, '/openai/openai/v1/chat/completions',
   'groq - base url path + provider chat path');
is($req[0]{headers}{authorization}, 'Bearer gsk-groq-secret-456',
   'groq - key from file, newline trimmed');
is($req[0]{json}{model}, 'llama-3.3-70b-versatile', 'groq - model id');

# an unknown model with an explicit provider passes through as it is
$r = $t->chat(port => $gw,
              json => { model => 'my-finetune-v2/openai',
                        messages => $messages });
is($r->{status}, 200, 'passthrough - status');
@req = $openai->wait_requests(2);
is($req[-1]{json}{model}, 'my-finetune-v2', 'passthrough - model sent');

# a provider model id routes like its registry name
$r = $t->chat(port => $gw,
              json => { model => 'GPT-4o-mini', messages => $messages });
is($r->{status}, 200, 'model names are case-insensitive');

# the model is replaced in place: the rest of the body byte for byte
my $body = '{"messages":[{"role":"user","content":"caf\u00e9 \"q\""}],'
         . ' "model" : "gpt-4o-mini/openai" ,"temperature":0.5}';
$r = $t->chat(port => $gw, body => $body);
is($r->{status}, 200, 'splice - status');
@req = $openai->wait_requests(3);
(my $want = $body) =~ s{"gpt-4o-mini/openai"}{"gpt-4o-mini"};
is($req[-1]{body}, $want, 'splice - body identical but the model');

# "!provider" excludes, and excluding everything leaves nothing
$r = $t->chat(port => $gw,
              json => { model => '!openai,gpt-4o-mini', messages => $messages });
is($r->{status}, 404, 'exclusion - no provider left');
is($r->{json}{error}{code}, 'model_not_found', 'exclusion - code');

$r = $t->chat(port => $gw,
              json => { model => '!nosuch,gpt-4o-mini', messages => $messages });
is($r->{status}, 400, 'exclusion - unknown provider refused');

# a provider without a key is not used
$r = $t->chat(port => $gw,
              json => { model => 'mistral-small/mistral', messages => $messages });
is($r->{status}, 503, 'no key - 503');
is($r->{json}{error}{code}, 'provider_not_configured', 'no key - code');

$t->stop;

my @all = $t->read_jsonl('helicone.jsonl');
is(scalar @all, 9, 'one event per request, errors included');

$t->check_no_alerts;

done_testing;

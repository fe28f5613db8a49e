#!/usr/bin/perl

# Tests for POST /v1/responses in gateway mode, to providers that speak
# the Responses API themselves: relayed as they are, plain and streamed,
# usage (cached and reasoning tokens included) and cost from "usage" and
# from the response.completed event, fallbacks, the cache, refusals.

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
my $claude = $t->mock_llm('claude');
my $down = $t->mock_llm('down', handler => sub {
    return MockLLM::openai_error(500, 'broken', 'server_error');
});
my $bad = $t->mock_llm('bad', handler => sub {
    return { status => 400, json => { type => 'error', error => {
             type => 'invalid_request_error',
             message => 'messages: text content blocks must be non-empty' } } };
});

$ENV{HG_TEST_OPENAI_KEY} = 'sk-openai-secret';
$ENV{HG_TEST_CLAUDE_KEY} = 'sk-ant-secret';

$t->write_config($t->conf_head . <<'EOF2');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%%;
    helicone_provider_key openai env=HG_TEST_OPENAI_KEY;
    helicone_provider down url=http://127.0.0.1:%%PORT_down%%
                      responses=/v1/responses auth=none;
    helicone_provider plain url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_provider azure url=http://127.0.0.1:%%PORT_openai%% api=azure
                      api_version=2025-04-01-preview;
    helicone_provider_key azure env=HG_TEST_OPENAI_KEY;
    helicone_provider anthropic url=http://127.0.0.1:%%PORT_claude%%;
    helicone_provider claudedown url=http://127.0.0.1:%%PORT_down%%
                      api=anthropic auth=none;
    helicone_provider claudebad url=http://127.0.0.1:%%PORT_bad%%
                      api=anthropic auth=none;
    helicone_provider_key anthropic env=HG_TEST_CLAUDE_KEY;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;
        location /v1/ { helicone_pass gateway; }

        # a translated Responses stream's output outgrows this
        location /small/ {
            rewrite ^/small(/.*)$ $1 break;
            helicone_pass gateway;
            helicone_response_buffer 64;
        }

        # proxy mode: the client's own key, its path as it is
        location /proxy/ {
            rewrite ^/proxy(/.*)$ $1 break;
            helicone_pass openai;
        }
    }
}
EOF2

$t->run;

my $gw = $t->port('gw');
my $json = JSON::PP->new->canonical;
my $nev = 0;

sub responses {
    my ($body, @h) = @_;
    $nev++;
    return $t->http(port => $gw, method => 'POST', path => '/v1/responses',
                    headers => [ [ 'Content-Type', 'application/json' ], @h ],
                    body => $json->encode($body));
}

sub last_event {
    my @ev = $t->wait_jsonl('helicone.jsonl', $nev);
    return $ev[$nev - 1] // {};
}

# ------------------------------------------------------------- non-stream

my $r = responses({ model => 'gpt-4o-mini', input => 'Say hello' });
is($r->{status}, 200, 'plain - status');
my $j = eval { decode_json($r->{body}) } // {};
is($j->{object}, 'response', 'plain - a response object');
is($j->{output}[0]{content}[0]{text}, 'Hello from mock', 'plain - relayed');
is($r->{headers}{'helicone-provider'}, 'openai', 'plain - Helicone-Provider');

my ($req) = grep { $_->{path} eq '/v1/responses' } @{ $openai->requests };
ok($req, 'provider - its Responses path');
is($req->{headers}{authorization}, 'Bearer sk-openai-secret',
   'provider - the gateway\'s key');
is($req->{json}{input}, 'Say hello', 'provider - the body as sent');

my $ev = last_event();
like($ev->{log}{request}{path}, qr{/v1/responses$}, 'event - the path');
is($ev->{log}{response}{promptTokens}, 11, 'event - input tokens');
is($ev->{log}{response}{completionTokens}, 3, 'event - output tokens');
is($ev->{log}{response}{promptCacheReadTokens}, 2, 'event - cached tokens');
is($ev->{log}{response}{reasoningTokens}, 1, 'event - reasoning tokens');
is($ev->{log}{response}{model}, 'gpt-4o-mini', 'event - served model');
ok(defined $ev->{log}{response}{cost} && $ev->{log}{response}{cost} > 0,
   'event - a cost');

# ----------------------------------------------------------------- stream

$r = responses({ model => 'gpt-4o-mini', input => 'Say hello',
                 stream => JSON::PP::true });
is($r->{status}, 200, 'stream - status');
like($r->{headers}{'content-type'} // '', qr{^text/event-stream},
     'stream - an event stream');
my @types = map { /^event: (\S+)/m ? $1 : () } split /\n\n/, $r->{body};
is($types[0], 'response.created', 'stream - relayed from the first event');
is($types[-1], 'response.completed', 'stream - to the last');
is(scalar(grep { $_ eq 'response.output_text.delta' } @types), 3,
   'stream - every delta');

$ev = last_event();
is($ev->{log}{request}{isStream}, JSON::PP::true, 'stream event - a stream');
is($ev->{log}{response}{promptTokens}, 11,
   'stream event - usage from response.completed');
is($ev->{log}{response}{completionTokens}, 3,
   'stream event - output tokens');
is($ev->{log}{response}{promptCacheReadTokens}, 2,
   'stream event - cached tokens');
is($ev->{log}{response}{reasoningTokens}, 1,
   'stream event - reasoning tokens');
is($ev->{truncated}, JSON::PP::false,
   'stream event - response.completed ends it (no [DONE] in Responses)');
is($ev->{log}{response}{model}, 'gpt-4o-mini', 'stream event - the model');

# the cache keeps a stream that ended with response.completed
my @cache = ([ 'Helicone-Cache-Enabled', 'true' ]);
$r = responses({ model => 'gpt-4o-mini', input => 'cache me',
                 stream => JSON::PP::true }, @cache);
is($r->{headers}{'helicone-cache'}, 'MISS', 'cache - MISS');
last_event();
my $body = $r->{body};
$r = responses({ model => 'gpt-4o-mini', input => 'cache me',
                 stream => JSON::PP::true }, @cache);
is($r->{headers}{'helicone-cache'}, 'HIT', 'cache - the stream is a HIT');
is($r->{body}, $body, 'cache - the same events');

# proxy mode reads a Responses stream's usage too, and relays GET /models
$nev++;
$r = $t->http(port => $gw, method => 'POST', path => '/proxy/v1/responses',
              headers => [ [ 'Content-Type', 'application/json' ],
                           [ 'Authorization', 'Bearer sk-client-own' ] ],
              body => $json->encode({ model => 'gpt-4o-mini', input => 'x',
                                      stream => JSON::PP::true }));
is($r->{status}, 200, 'proxy mode stream - status');
$ev = last_event();
is($ev->{log}{response}{promptTokens}, 11, 'proxy mode stream - usage');
is($ev->{truncated}, JSON::PP::false, 'proxy mode stream - complete');

$nev++;
$r = $t->http(port => $gw, path => '/proxy/v1/models',
              headers => [ [ 'Authorization', 'Bearer sk-client-own' ] ]);
is((eval { decode_json($r->{body}) } // {})->{error}{code}, 'unknown_url',
   'proxy mode GET /models - the provider\'s answer, not ours');
last_event();

# -------------------------------------------------------------- fallbacks

$r = responses({ model => 'gpt-4o-mini/down,gpt-4o-mini/openai',
                 input => 'Say hello' });
is($r->{status}, 200, 'fallback - served');
is($r->{headers}{'helicone-provider'}, 'openai', 'fallback - by the next');
$ev = last_event();
is(scalar @{ $ev->{attempts} // [] }, 2, 'fallback - two attempts');
is($ev->{attempts}[0]{status}, 500, 'fallback - the first failed');
is(scalar(grep { $_->{path} eq '/v1/responses' } @{ $down->requests }), 1,
   'fallback - the first provider asked at its Responses path');

# ------------------------------------------------------------ Azure, refusals

$r = responses({ model => 'my-deployment/azure', input => 'Say hello' });
is($r->{status}, 200, 'azure - status');
my ($az) = grep { $_->{path} =~ m{^/openai/responses} } @{ $openai->requests };
is($az->{path}, '/openai/responses?api-version=2025-04-01-preview',
   'azure - its Responses path, the deployment in the body');
is($az->{json}{model}, 'my-deployment', 'azure - the deployment as model');

$r = responses({ model => 'x/plain', input => 'Say hello' });
is($r->{status}, 400, 'a provider without a Responses path - 400');
is((eval { decode_json($r->{body}) } // {})->{error}{code},
   'unsupported_endpoint', 'a provider without a Responses path - code');

# ------------------------------------------ translated to Anthropic Messages

my $haiku = 'claude-3-5-haiku-20241022';

$r = responses({ model => $haiku, instructions => 'Be brief.',
                 input => [ { role => 'user', content => 'Say hello' } ],
                 max_output_tokens => 64, temperature => 0.5 });
is($r->{status}, 200, 'translated - status');
$j = eval { decode_json($r->{body}) } // {};
is($j->{object}, 'response', 'translated - a response object');
is($j->{status}, 'completed', 'translated - completed');
is($j->{output}[0]{content}[0]{text}, 'Hello from mock',
   'translated - the text');
is($j->{usage}{input_tokens}, 32, 'translated - input tokens, cache included');
is($j->{usage}{input_tokens_details}{cached_tokens}, 5,
   'translated - cached tokens');
like($r->{headers}{'content-type'}, qr{^application/json},
     'translated - JSON');

($req) = grep { $_->{path} eq '/v1/messages' } @{ $claude->requests };
is($req->{headers}{'x-api-key'}, 'sk-ant-secret',
   'translated - the Anthropic key');
is($req->{json}{max_tokens}, 64, 'translated - max_output_tokens');
is($req->{json}{system}[0]{text}, 'Be brief.', 'translated - instructions');
is($req->{json}{messages}[0]{content}, 'Say hello',
   'translated - the input message');
is($req->{json}{temperature}, 0.5, 'translated - temperature');

$ev = last_event();
is($ev->{log}{response}{promptTokens}, 32, 'translated event - input tokens');
is($ev->{log}{response}{completionTokens}, 4,
   'translated event - output tokens');
is($ev->{log}{response}{promptCacheReadTokens}, 5,
   'translated event - cached tokens');
ok(($ev->{log}{response}{cost} // 0) > 0, 'translated event - a cost');
is($ev->{log}{request}{provider}, 'ANTHROPIC', 'translated event - provider');

$r = responses({ model => $haiku, input => 'Say hello',
                 stream => JSON::PP::true }, @cache);
is($r->{headers}{'helicone-cache'}, 'MISS', 'translated stream - MISS');
@types = map { /^event: (\S+)/m ? $1 : () } split /\n\n/, $r->{body};
is($types[0], 'response.created', 'translated stream - response.created');
is($types[-1], 'response.completed',
   'translated stream - response.completed');
is(join('', map { /"delta":"([^"]*)"/ ? $1 : () }
            grep { /output_text\.delta/ } split /\n\n/, $r->{body}),
   'Hello from mock', 'translated stream - the deltas');
$ev = last_event();
is($ev->{truncated}, JSON::PP::false, 'translated stream - not truncated');
is($ev->{log}{response}{completionTokens}, 4, 'translated stream - usage');
$body = $r->{body};
$r = responses({ model => $haiku, input => 'Say hello',
                 stream => JSON::PP::true }, @cache);
is($r->{headers}{'helicone-cache'}, 'HIT', 'translated stream - cached');
is($r->{body}, $body, 'translated stream - the same events');

# a tool call and its result
$r = responses({ model => $haiku, input => 'Weather?',
                 tools => [ { type => 'function', name => 'get_weather',
                              parameters => { type => 'object' } } ],
                 tool_choice => 'required' });
$j = eval { decode_json($r->{body}) } // {};
is($j->{output}[0]{type}, 'function_call', 'translated tool - a call');
is($j->{output}[0]{call_id}, 'toolu_mock', 'translated tool - its call_id');
is_deeply(eval { decode_json($j->{output}[0]{arguments}) },
          { city => 'Paris' }, 'translated tool - its arguments');
($req) = grep { $_->{path} eq '/v1/messages' } reverse @{ $claude->requests };
is($req->{json}{tools}[0]{name}, 'get_weather', 'translated tool - tools');
is_deeply($req->{json}{tool_choice}, { type => 'any' },
          'translated tool - required is any');

$r = responses({ model => $haiku, input => [
    { role => 'user', content => 'Weather?' },
    { type => 'function_call', call_id => 'toolu_mock',
      name => 'get_weather', arguments => '{"city":"Paris"}' },
    { type => 'function_call_output', call_id => 'toolu_mock',
      output => '{"temp":21}' } ],
    tools => [ { type => 'function', name => 'get_weather' } ] });
$j = eval { decode_json($r->{body}) } // {};
is($j->{output}[0]{content}[0]{text}, 'It is 21',
   'translated tool result - the answer');
($req) = grep { $_->{path} eq '/v1/messages' } reverse @{ $claude->requests };
is($req->{json}{messages}[1]{content}[0]{type}, 'tool_use',
   'translated tool result - the call as tool_use');
is_deeply($req->{json}{messages}[1]{content}[0]{input}, { city => 'Paris' },
          'translated tool result - its input an object');
is($req->{json}{messages}[2]{content}[0]{tool_use_id}, 'toolu_mock',
   'translated tool result - tool_result');

# reasoning and tools: the thinking goes out as a reasoning item and
# comes back with the tool result, as Anthropic wants
my $weather = [ { type => 'function', name => 'get_weather' } ];
$r = responses({ model => $haiku, input => 'Weather?', tools => $weather,
                 reasoning => { effort => 'low' } });
$j = eval { decode_json($r->{body}) } // {};
is($j->{output}[0]{type}, 'reasoning', 'reasoning and tools - a reasoning item');
is($j->{output}[0]{summary}[0]{text}, 'Let me think',
   'reasoning and tools - the thinking as its summary');
is($j->{output}[1]{type}, 'function_call', 'reasoning and tools - the call');
$r = responses({ model => $haiku, tools => $weather,
                 reasoning => { effort => 'low' },
                 input => [ { role => 'user', content => 'Weather?' },
                            @{ $j->{output} // [] },
                            { type => 'function_call_output',
                              call_id => 'toolu_mock', output => '21' } ] });
is($r->{status}, 200, 'reasoning and tools - the second turn accepted');
is((eval { decode_json($r->{body}) } // {})->{output}[-1]{content}[0]{text},
   'It is 21', 'reasoning and tools - the answer');

# reasoning effort
$r = responses({ model => $haiku, input => 'x',
                 reasoning => { effort => 'low' } });
($req) = grep { $_->{path} eq '/v1/messages' } reverse @{ $claude->requests };
is_deeply($req->{json}{thinking}, { type => 'enabled', budget_tokens => 1024 },
          'reasoning effort low - a thinking budget');
is($req->{json}{max_tokens}, 4096 + 1024,
   'reasoning effort low - the budget on top of the default');

# output items larger than helicone_response_buffer: response.failed
$nev++;
$r = $t->http(port => $gw, method => 'POST', path => '/small/v1/responses',
              headers => [ [ 'Content-Type', 'application/json' ], @cache ],
              body => $json->encode({ model => $haiku, input => 'x',
                                      stream => JSON::PP::true }));
like($r->{body}, qr/^event: response\.failed$/m,
     'items too large - response.failed');
unlike($r->{body}, qr/response\.completed/,
       'items too large - no response.completed');
last_event();
$nev++;
$r = $t->http(port => $gw, method => 'POST', path => '/small/v1/responses',
              headers => [ [ 'Content-Type', 'application/json' ], @cache ],
              body => $json->encode({ model => $haiku, input => 'x',
                                      stream => JSON::PP::true }));
is($r->{headers}{'helicone-cache'}, 'MISS', 'items too large - not cached');
last_event();

# what cannot be translated: a 400 naming the field, nothing sent
my $n = scalar @{ $claude->requests };
$r = responses({ model => $haiku, input => 'x',
                 previous_response_id => 'resp_1' });
is($r->{status}, 400, 'previous_response_id - 400');
$j = eval { decode_json($r->{body}) } // {};
like($j->{error}{message} // '', qr/previous_response_id.*anthropic/,
     'previous_response_id - the field and the provider named');
is($j->{error}{code}, 'unsupported_request', 'previous_response_id - code');
is(scalar @{ $claude->requests }, $n, 'previous_response_id - not sent');

$r = responses({ model => $haiku, input => 'x',
                 tools => [ { type => 'web_search' } ] });
like((eval { decode_json($r->{body}) } // {})->{error}{message} // '',
     qr/tools/, 'a built-in tool - 400 naming tools');

# an Anthropic error in OpenAI's shape, its status kept
$r = responses({ model => "$haiku/claudebad", input => '' });
is($r->{status}, 400, 'Anthropic error - its status');
$j = eval { decode_json($r->{body}) } // {};
is($j->{error}{type}, 'invalid_request_error', 'Anthropic error - its type');
like($j->{error}{message} // '', qr/non-empty/, 'Anthropic error - message');
last_event();

# a fallback from a translated provider to a native one
$r = responses({ model => "$haiku/claudedown,gpt-4o-mini/openai",
                 input => 'Say hello' });
is($r->{status}, 200, 'fallback across dialects - served');
is($r->{headers}{'helicone-provider'}, 'openai',
   'fallback across dialects - by the native one');
is((eval { decode_json($r->{body}) } // {})->{output}[0]{content}[0]{text},
   'Hello from mock', 'fallback across dialects - its response as it is');
$ev = last_event();
is(scalar @{ $ev->{attempts} // [] }, 2, 'fallback across dialects - two');
ok(scalar(grep { $_->{path} eq '/v1/messages' } @{ $down->requests }),
   'fallback across dialects - the first asked in Messages');

$t->stop;
$t->check_no_alerts;

done_testing;

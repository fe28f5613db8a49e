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
my $down = $t->mock_llm('down', handler => sub {
    return MockLLM::openai_error(500, 'broken', 'server_error');
});

$ENV{HG_TEST_OPENAI_KEY} = 'sk-openai-secret';

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
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;
        location /v1/ { helicone_pass gateway; }
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

$t->stop;
$t->check_no_alerts;

done_testing;

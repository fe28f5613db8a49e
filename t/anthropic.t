#!/usr/bin/perl

# Tests for helicone translation to Anthropic Messages (requests, JSON and
# streamed responses, errors), Anthropic spoken natively through the
# proxy mode, Azure deployments, and the cost of each.

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

my $anthropic = $t->mock_llm('anthropic', handler => sub {
    my ($req) = @_;
    my $j = $req->{json};
    my $last = ref $j eq 'HASH' && ref $j->{messages} eq 'ARRAY'
               ? $j->{messages}[-1] : undef;
    my $text = ref $last eq 'HASH' && !ref $last->{content}
               ? $last->{content} // '' : '';

    if ($text eq 'overloaded') {
        return { status => 529, json => {
            type => 'error',
            error => { type => 'overloaded_error',
                       message => 'Overloaded' } } };
    }

    if ($text eq 'use a tool') {
        return { json => MockLLM::anthropic_message($j->{model}, [
            { type => 'text', text => 'Let me look.' },
            { type => 'tool_use', id => 'toolu_1', name => 'get_weather',
              input => { city => 'Paris' } } ]) };
    }

    if ($text eq 'not json') {
        return { status => 200, headers => [ [ 'Content-Type',
                                               'application/json' ] ],
                 body => 'this is not JSON' };
    }

    if ($text eq 'a long delta') {
        # one text delta of 20,000 characters between short ones: larger
        # than the SSE buffer a translated stream starts with (16 KB)
        my $delta = sub {
            MockLLM::anthropic_event({ type => 'content_block_delta',
                index => 0, delta => { type => 'text_delta',
                                       text => $_[0] } });
        };
        return { sse => [
            MockLLM::anthropic_event({ type => 'message_start', message => {
                %{ MockLLM::anthropic_message($j->{model}, []) } } }),
            MockLLM::anthropic_event({ type => 'content_block_start',
                index => 0, content_block => { type => 'text',
                                               text => '' } }),
            $delta->('<'), $delta->('y' x 20000), $delta->('>'),
            MockLLM::anthropic_event({ type => 'content_block_stop',
                                       index => 0 }),
            MockLLM::anthropic_event({ type => 'message_delta',
                delta => { stop_reason => 'end_turn' },
                usage => { output_tokens => 3 } }),
            MockLLM::anthropic_event({ type => 'message_stop' }) ] };
    }

    if ($text eq 'error midway') {
        # Anthropic's way to fail a stream: an error event, then a clean end
        return { sse => [
            MockLLM::anthropic_event({ type => 'message_start', message => {
                %{ MockLLM::anthropic_message($j->{model}, []) } } }),
            MockLLM::anthropic_event({ type => 'content_block_delta',
                index => 0, delta => { type => 'text_delta',
                                       text => 'Hel' } }),
            MockLLM::anthropic_event({ type => 'error',
                error => { type => 'overloaded_error',
                           message => 'Overloaded' } }) ] };
    }

    if ($text eq 'cut') {
        return { sse => [
            MockLLM::anthropic_event({ type => 'message_start', message => {
                %{ MockLLM::anthropic_message($j->{model}, []) } } }),
            MockLLM::anthropic_event({ type => 'content_block_delta',
                index => 0, delta => { type => 'text_delta',
                                       text => 'Hel' } }) ],
                 cut => 1 };
    }

    return undef;
});

my $azure = $t->mock_llm('azure');

$ENV{HG_TEST_ANTHROPIC_KEY} = 'sk-ant-secret-1';
$ENV{HG_TEST_AZURE_KEY} = 'azure-secret-2';

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider anthropic url=http://127.0.0.1:%%PORT_anthropic%%;
    helicone_provider_key anthropic env=HG_TEST_ANTHROPIC_KEY;
    helicone_provider myazure url=http://127.0.0.1:%%PORT_azure%% api=azure
                      api_version=2024-10-21;
    helicone_provider_key myazure env=HG_TEST_AZURE_KEY;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    log_format cost '$helicone_request_id $helicone_cost';

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;
        access_log %%DIR%%/cost.log cost;

        location /v1/ { helicone_pass gateway; }

        # an event larger than this cannot be translated
        location /small/v1/ {
            helicone_pass gateway;
            helicone_response_buffer 8k;
        }

        location /native/ {
            rewrite ^/native(/.*)$ $1 break;
            helicone_pass anthropic;
        }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');

sub event { $t->wait_event($_[0]) }

# -------------------------------------------------- translated, JSON

my $r = $t->chat(port => $gw, json => {
    model    => 'claude-sonnet-4',
    messages => [ { role => 'system', content => 'Be brief.' },
                  { role => 'user', content => 'hi' } ],
    temperature => 0.2,
    stop     => 'END',
});

is($r->{status}, 200, 'translate - status');
is($r->{headers}{'helicone-provider'}, 'anthropic', 'translate - provider');
is($r->{json}{object}, 'chat.completion', 'translate - an OpenAI object');
is($r->{json}{choices}[0]{message}{content}, 'Hello from mock',
   'translate - content');
is($r->{json}{choices}[0]{finish_reason}, 'stop',
   'translate - end_turn is stop');
is($r->{json}{usage}{completion_tokens}, 4, 'translate - completion tokens');
is($r->{headers}{'content-length'}, length $r->{body},
   'translate - content length of the translated body');

my ($got) = $anthropic->wait_requests(1);

is($got->{path}, '/v1/messages', 'translate - Messages endpoint');
is($got->{headers}{'x-api-key'}, 'sk-ant-secret-1', 'translate - x-api-key');
is($got->{headers}{'anthropic-version'}, '2023-06-01',
   'translate - anthropic-version');
ok(!exists $got->{headers}{authorization}, 'translate - no Authorization');
is($got->{json}{model}, 'claude-sonnet-4-20250514',
   'translate - provider model id');
is($got->{json}{system}, 'Be brief.', 'translate - system prompt');
is_deeply($got->{json}{messages}, [ { role => 'user', content => 'hi' } ],
          'translate - messages');
is($got->{json}{max_tokens}, 4096, 'translate - default max_tokens');
is_deeply($got->{json}{stop_sequences}, [ 'END' ], 'translate - stop');
is($got->{json}{temperature}, 0.2, 'translate - temperature');

my $ev = event($r->{headers}{'helicone-id'});

# 20 input + 5 cache read + 7 cache write, 4 output
is($ev->{log}{response}{promptTokens}, 32, 'translate event - prompt');
is($ev->{log}{response}{completionTokens}, 4, 'translate event - completion');
is($ev->{log}{response}{promptCacheReadTokens}, 5,
   'translate event - cache read');
is($ev->{log}{response}{promptCacheWriteTokens}, 7,
   'translate event - cache write');

# 20 x $3 + 5 x $0.30 + 7 x $3.75 + 4 x $15 per 1M = $0.00014775
is($ev->{log}{response}{cost}, 0.00014775, 'translate event - cost');

my $line = $t->wait_for(sub {
    my $log = $t->read_file('cost.log') // return;
    $log =~ /^\Q$r->{headers}{'helicone-id'}\E (\S+)$/m ? $1 : undef;
});
is($line, '0.00014775', 'translate - $helicone_cost');

# -------------------------------------------------- translated, tools

$r = $t->chat(port => $gw, json => {
    model    => 'claude-sonnet-4/anthropic',
    messages => [ { role => 'user', content => 'use a tool' } ],
    tools    => [ { type => 'function', function => {
        name => 'get_weather', description => 'Weather',
        parameters => { type => 'object',
                        properties => { city => { type => 'string' } },
                        required => [ 'city' ] } } } ],
    tool_choice => 'auto',
});

is($r->{status}, 200, 'tools - status');
my $call = $r->{json}{choices}[0]{message}{tool_calls}[0];
is($call->{function}{name}, 'get_weather', 'tools - tool call name');
is_deeply(decode_json($call->{function}{arguments}), { city => 'Paris' },
          'tools - arguments');
is($r->{json}{choices}[0]{finish_reason}, 'stop',
   'tools - stop reason kept');

my @got = $anthropic->wait_requests(2);
is($got[-1]{json}{tools}[0]{input_schema}{properties}{city}{type}, 'string',
   'tools - input_schema sent');
is_deeply($got[-1]{json}{tool_choice}, { type => 'auto' },
          'tools - tool_choice');

# -------------------------------------------------- translated, stream

$r = $t->chat(port => $gw, json => {
    model    => 'claude-sonnet-4',
    messages => [ { role => 'user', content => 'hi' } ],
    stream   => JSON::PP::true,
    stream_options => { include_usage => JSON::PP::true },
});

is($r->{status}, 200, 'stream - status');
like($r->{headers}{'content-type'}, qr{^text/event-stream},
     'stream - event stream');
is($r->{complete}, 1, 'stream - complete');

my @ev = @{ $r->{events} };
is($ev[-1]{data}, '[DONE]', 'stream - ends with [DONE]');
is(join('', map { $_->{json} && $_->{json}{choices}[0]
                  ? $_->{json}{choices}[0]{delta}{content} // '' : '' }
            @ev), 'Hello from mock', 'stream - content chunks');
is(scalar(grep { $_->{json} && ($_->{json}{object} // '')
                 ne 'chat.completion.chunk' } @ev), 0,
   'stream - every event is a chat.completion.chunk');
my ($usage) = grep { $_->{json} && $_->{json}{usage} } @ev;
is($usage->{json}{usage}{completion_tokens}, 4, 'stream - usage chunk');

$ev = event($r->{headers}{'helicone-id'});
is($ev->{log}{response}{completionTokens}, 4, 'stream event - completion');
is($ev->{log}{response}{promptTokens}, 32, 'stream event - prompt');
is($ev->{log}{response}{cost}, 0.00014775, 'stream event - cost');

# without include_usage the client gets no usage chunk
$r = $t->chat(port => $gw, json => {
    model    => 'claude-sonnet-4',
    messages => [ { role => 'user', content => 'hi' } ],
    stream   => JSON::PP::true,
});
is(scalar(grep { $_->{json} && $_->{json}{usage} } @{ $r->{events} }), 0,
   'stream - no usage chunk unless asked');
$ev = event($r->{headers}{'helicone-id'});
is($ev->{log}{response}{completionTokens}, 4,
   'stream - usage logged all the same');

# a cut Anthropic stream: no clean end, no [DONE]
$r = $t->chat(port => $gw, json => {
    model    => 'claude-sonnet-4',
    messages => [ { role => 'user', content => 'cut' } ],
    stream   => JSON::PP::true,
});
is($r->{complete}, 0, 'stream cut - the client sees it broke');
unlike($r->{body}, qr/\[DONE\]/, 'stream cut - no [DONE] invented');
$ev = event($r->{headers}{'helicone-id'});
is($ev->{truncated}, JSON::PP::true, 'stream cut - logged truncated');

# an event past the SSE buffer's first 16 KB is translated whole
my @long = (json => { model => 'claude-sonnet-4', stream => JSON::PP::true,
                      messages => [ { role => 'user',
                                      content => 'a long delta' } ] });
$r = $t->chat(port => $gw, @long);
my $text = join '', map { $_->{json} && $_->{json}{choices}
                          && @{ $_->{json}{choices} }
                          ? $_->{json}{choices}[0]{delta}{content} // '' : '' }
                    @{ $r->{events} };
is(length $text, 20002, 'long event - all of it translated');
is($text, '<' . ('y' x 20000) . '>', 'long event - in order');
is($r->{events}[-1]{data}, '[DONE]', 'long event - a clean end');

# larger than helicone_response_buffer: the stream is cut, not thinned
$r = $t->chat(port => $gw, path => '/small/v1/chat/completions', @long);
is($r->{complete}, 0, 'event too large - the client sees the stream break');
unlike($r->{body}, qr/\[DONE\]/, 'event too large - no [DONE]');
unlike($r->{body}, qr/"content":">"/,
       'event too large - nothing after the lost event');
$ev = event($r->{headers}{'helicone-id'});
is($ev->{truncated}, JSON::PP::true, 'event too large - logged truncated');
ok($t->wait_for(sub { $t->read_file('error.log') =~
                      /larger than helicone_response_buffer/ }),
   'event too large - said in the error log');

# an error event mid-stream: the client gets it, and it is not cached
my @midway = (port => $gw, headers => [ [ 'Helicone-Cache-Enabled', 'true' ] ],
              json => { model => 'claude-sonnet-4', stream => JSON::PP::true,
                        messages => [ { role => 'user',
                                        content => 'error midway' } ] });
my $asked = scalar @{ $anthropic->requests };
$r = $t->chat(@midway);
like($r->{body}, qr/overloaded_error/, 'stream error - the client gets it');
unlike($r->{body}, qr/\[DONE\]/, 'stream error - no [DONE]');
ok(event($r->{headers}{'helicone-id'}), 'stream error - logged');
$r = $t->chat(@midway);
is($r->{headers}{'helicone-cache'}, 'MISS', 'stream error - not cached');
is(scalar @{ $anthropic->requests }, $asked + 2,
   'stream error - Anthropic asked each time');

# -------------------------------------------------- errors, bad output

$r = $t->chat(port => $gw, json => {
    model    => 'claude-sonnet-4',
    messages => [ { role => 'user', content => 'overloaded' } ],
});
is($r->{status}, 529, 'error - provider status kept');
is($r->{json}{error}{type}, 'overloaded_error', 'error - OpenAI shape, type');
is($r->{json}{error}{message}, 'Overloaded', 'error - message');

$r = $t->chat(port => $gw, json => {
    model    => 'claude-sonnet-4',
    messages => [ { role => 'user', content => 'not json' } ],
});
is($r->{status}, 200, 'bad output - relayed');
is($r->{body}, 'this is not JSON', 'bad output - as the provider sent it');
$ev = event($r->{headers}{'helicone-id'});
ok(!defined $ev->{log}{response}{cost}, 'bad output - cost unknown (null)');

$r = $t->chat(port => $gw, json => {
    model    => 'claude-sonnet-4',
    messages => [ { role => 'user', content => 'hi' } ],
    functions => [ { name => 'f' } ],
});
is($r->{status}, 400, 'untranslatable - 400');
like($r->{json}{error}{message}, qr/anthropic/, 'untranslatable - says why');

# -------------------------------------------------- native Messages

$r = $t->chat(port => $gw, path => '/native/v1/messages',
              headers => [ [ 'x-api-key', 'sk-ant-client' ],
                           [ 'anthropic-version', '2023-06-01' ] ],
              json => { model => 'claude-sonnet-4-20250514',
                        max_tokens => 100,
                        messages => [ { role => 'user',
                                        content => 'hi' } ] });
is($r->{status}, 200, 'native - status');
is($r->{json}{type}, 'message', 'native - Anthropic response as is');
@got = $anthropic->requests;
is($got[-1]{headers}{'x-api-key'}, 'sk-ant-client',
   'native - the client key passes');
$ev = event($r->{headers}{'helicone-id'});
is($ev->{log}{response}{promptTokens}, 32, 'native - usage read');
is($ev->{log}{response}{cost}, 0.00014775, 'native - cost');

$r = $t->chat(port => $gw, path => '/native/v1/messages',
              json => { model => 'claude-sonnet-4-20250514',
                        max_tokens => 100, stream => JSON::PP::true,
                        messages => [ { role => 'user',
                                        content => 'hi' } ] });
like($r->{body}, qr/event: message_stop/, 'native stream - as is');
$ev = event($r->{headers}{'helicone-id'});
is($ev->{log}{response}{completionTokens}, 4,
   'native stream - usage from message_delta');
is($ev->{log}{response}{promptTokens}, 32,
   'native stream - usage from message_start');
is($ev->{truncated}, JSON::PP::false, 'native stream - complete');

# -------------------------------------------------- Azure

$r = $t->chat(port => $gw, json => {
    model    => 'gpt-4o-mini/myazure',
    messages => [ { role => 'user', content => 'hi' } ],
});
is($r->{status}, 200, 'azure - status');
($got) = $azure->wait_requests(1);
is($got->{path},
   '/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21',
   'azure - deployment URL');
is($got->{headers}{'api-key'}, 'azure-secret-2', 'azure - api-key header');
ok(!exists $got->{headers}{authorization}, 'azure - no Authorization');

$t->stop;
$t->check_no_alerts;

done_testing;

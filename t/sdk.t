#!/usr/bin/perl

# Tests with the official SDKs (OpenAI and Anthropic, for Node.js, pinned
# in t/sdk/package.json: the current majors, and the last Anthropic 0.x):
# pointed at the gateway with only a new base URL and key, they work
# unchanged, streaming included. The OpenAI SDK talks to gateway mode, to
# an OpenAI provider and to an Anthropic one through the translation; the
# Anthropic SDKs talk to proxy mode, with the key as Authorization: Bearer
# (1.x) and as x-api-key (0.x).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use JSON::PP;
use Test::More;

use HgTest;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $sdk = "$FindBin::Bin/sdk";
my $node = `command -v node 2>/dev/null`;
chomp $node;

plan(skip_all => 'node is not installed') unless $node;
plan(skip_all => 'the SDKs are not installed: make sdk-deps')
    unless -d "$sdk/node_modules/openai"
           && -d "$sdk/node_modules/\@anthropic-ai/sdk"
           && -d "$sdk/node_modules/anthropic-old";

my $key = 'sk-helicone-sdk-test-0123456789';
my $org = 'org-sdk';

$t->write_file('keys', sha256_hex("Bearer $key") . " $org sdk\n");

my $openai = $t->mock_llm('openai');
my $claude = $t->mock_llm('claude');

$ENV{HG_TEST_OPENAI_KEY} = 'sk-provider-openai';
$ENV{HG_TEST_CLAUDE_KEY} = 'sk-ant-provider';

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%%;
    helicone_provider_key openai env=HG_TEST_OPENAI_KEY;
    helicone_provider anthropic url=http://127.0.0.1:%%PORT_claude%%;
    helicone_provider_key anthropic env=HG_TEST_CLAUDE_KEY;
    helicone_keys %%DIR%%/keys;
    helicone_auth required;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }

        # as anthropic.helicone.ai: the client's own Anthropic key
        location /anthropic/ {
            rewrite ^/anthropic(/.*)$ $1 break;
            helicone_pass anthropic;
        }
    }
}
EOF

$t->run;

my $base = 'http://127.0.0.1:' . $t->port('gw');

my $calls = 0;

# one SDK call in a node process: what it returned, as a hash
sub sdk {
    my ($case, $url, $k, $model) = @_;
    $calls++;
    my @cmd = ($node, "$sdk/client.mjs", $case, $url, $k, $model // ());
    my $out = qx{@{[ join ' ', map { quotemeta } @cmd ]} 2>&1};
    my ($line) = grep { /^\{/ } split /\n/, $out // '';
    my $r = eval { JSON::PP->new->decode($line // '') };
    diag("node $case: $out") unless $r && !$r->{failed};
    return $r // {};
}

# ------------------------------------------------------ OpenAI SDK, OpenAI

my $r = sdk('openai-chat', "$base/v1", $key);
is($r->{content}, 'Hello from mock', 'openai chat - the content');
is($r->{finish}, 'stop', 'openai chat - finish_reason');
is($r->{usage}{total_tokens}, 14, 'openai chat - usage');
like($r->{heliconeId} // '', qr/^[0-9a-f-]{36}$/,
     'openai chat - Helicone-Id on the response');

my $ev = $t->wait_event($r->{heliconeId});
is($ev->{organizationId}, $org, 'openai chat - logged for the key\'s org');

my ($seen) = grep { ($_->{json}{messages}[0]{content} // '') eq 'Say hello' }
             @{ $openai->requests };
is($seen->{headers}{authorization}, 'Bearer sk-provider-openai',
   'openai chat - the provider got the gateway\'s key');
is(scalar(grep { /^helicone-/ } keys %{ $seen->{headers} // {} }), 0,
   'openai chat - no Helicone-* header upstream');

$r = sdk('openai-stream', "$base/v1", $key);
is($r->{content}, 'Hello from mock', 'openai stream - the deltas');
is($r->{finish}, 'stop', 'openai stream - finish_reason');
is($r->{usage}, undef, 'openai stream - no usage chunk unasked');

$r = sdk('openai-stream-usage', "$base/v1", $key);
is($r->{content}, 'Hello from mock', 'openai stream with usage - the deltas');
is($r->{usage}{total_tokens}, 14, 'openai stream with usage - the usage');

$r = sdk('openai-error', "$base/v1", 'sk-helicone-wrong');
ok($r->{thrown}, 'wrong key - the SDK throws');
is($r->{class}, 'AuthenticationError', 'wrong key - its 401 error class');
is($r->{status}, 401, 'wrong key - status');
ok(length($r->{message} // ''), 'wrong key - with our message');

$r = sdk('openai-error', "$base/v1", $key, 'no-such-model-anywhere');
is($r->{class}, 'NotFoundError', 'unknown model - a 404, as OpenAI says it');
is($r->{status}, 404, 'unknown model - status');
ok(defined $r->{code}, 'unknown model - the code read from our body');

# ---------------------------------------- OpenAI SDK, Anthropic provider

$r = sdk('openai-chat', "$base/v1", $key, 'claude-3-5-haiku-20241022');
is($r->{content}, 'Hello from mock', 'translated chat - the content');
is($r->{finish}, 'stop', 'translated chat - end_turn is stop');
# Helicone's mapping: uncached input only, the cache in the details
is($r->{usage}{prompt_tokens}, 20, 'translated chat - prompt tokens');
is($r->{usage}{prompt_tokens_details}{cached_tokens}, 5,
   'translated chat - cached tokens');

$r = sdk('openai-stream-usage', "$base/v1", $key, 'claude-3-5-haiku-20241022');
is_deeply($r->{deltas}, [ 'Hello', ' from', ' mock' ],
          'translated stream - one delta per Anthropic event');
is($r->{finish}, 'stop', 'translated stream - finish_reason');
is($r->{usage}{completion_tokens}, 4, 'translated stream - usage');

# ------------------------------------------- Anthropic SDK, proxy mode

# the current SDK sends the client's key as "Authorization: Bearer", the
# last 0.x as "x-api-key": either reaches Anthropic, Helicone-Auth does not
for my $sdk ([ 'anthropic', 'authorization', 'Bearer sk-ant-client-own-key' ],
             [ 'anthropic-old', 'x-api-key', 'sk-ant-client-own-key' ])
{
    my ($case, $header, $value) = @$sdk;

    $r = sdk("$case-message", "$base/anthropic", $key,
             'claude-3-5-haiku-20241022');
    is($r->{content}, 'Hello from mock', "$case message - the content");
    is($r->{stop}, 'end_turn', "$case message - stop_reason");
    is($r->{usage}{input_tokens}, 20, "$case message - usage");

    ($seen) = grep { ($_->{path} // '') =~ m{^/v1/messages} }
              reverse @{ $claude->requests };
    is($seen->{headers}{$header}, $value,
       "$case message - the client's own key passes as $header");
    ok(!exists $seen->{headers}{'helicone-auth'},
       "$case message - Helicone-Auth stripped");

    $r = sdk("$case-stream", "$base/anthropic", $key,
             'claude-3-5-haiku-20241022');
    is_deeply($r->{deltas}, [ 'Hello', ' from', ' mock' ],
              "$case stream - the text events");
    is($r->{content}, 'Hello from mock', "$case stream - the final message");
    is($r->{usage}{output_tokens}, 4, "$case stream - usage");
}

my @events = $t->wait_jsonl('helicone.jsonl', $calls);
is(scalar @events, $calls, 'one event per SDK call, errors included');

$t->stop;
$t->check_no_alerts;

done_testing;

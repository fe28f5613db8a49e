#!/usr/bin/perl

# Tests with the official OpenAI SDK (t/sdk, as t/sdk.t) for the API
# surface beyond chat: models.list() and retrieve(), embeddings.create()
# and responses.create(), plain, streamed and with a tool call, against
# an OpenAI-dialect mock and an Anthropic-dialect one.

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
plan(skip_all => 'the SDK is not installed: make sdk-deps')
    unless -d "$sdk/node_modules/openai";

my $key = 'sk-helicone-sdk-api-test';

$t->write_file('keys', sha256_hex("Bearer $key") . " org-api sdk\n");

my $openai = $t->mock_llm('openai');
my $claude = $t->mock_llm('claude');

$ENV{HG_TEST_OPENAI_KEY} = 'sk-provider-openai';
$ENV{HG_TEST_CLAUDE_KEY} = 'sk-ant-provider';

$t->write_config($t->conf_head . <<'EOF2');
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
    }
}
EOF2

$t->run;

my $base = 'http://127.0.0.1:' . $t->port('gw') . '/v1';

sub sdk {
    my ($case, $model) = @_;
    my @cmd = ($node, "$sdk/api.mjs", $case, $base, $key, $model // ());
    my $out = qx{@{[ join ' ', map { quotemeta } @cmd ]} 2>&1};
    my ($line) = grep { /^\{/ } split /\n/, $out // '';
    my $r = eval { JSON::PP->new->decode($line // '') };
    diag("node $case: $out") unless $r && !$r->{failed};
    return $r // {};
}

# ---------------------------------------------------------------- models

my $r = sdk('models-list');
my %ids = map { $_ => 1 } @{ $r->{ids} // [] };
ok($ids{'gpt-4o-mini'}, 'models.list - an OpenAI model');
ok($ids{'claude-3.5-haiku/anthropic'}, 'models.list - model/provider');
ok(!(grep { m{/(groq|openrouter|helicone)$} } keys %ids),
   'models.list - only providers with a key');

$r = sdk('models-retrieve', 'claude-3.5-haiku');
is($r->{id}, 'claude-3.5-haiku', 'models.retrieve - the id');
is($r->{owned_by}, 'anthropic', 'models.retrieve - owned_by');
is($r->{object}, 'model', 'models.retrieve - object');

# ------------------------------------------------------------ embeddings

$r = sdk('embeddings-string', 'text-embedding-3-small');
is($r->{count}, 1, 'embeddings string - one vector');
is_deeply($r->{first}, [ 0.5, 0.25, 0 ],
          'embeddings string - base64 asked by the SDK, decoded by it');
is($r->{usage}{prompt_tokens}, 2, 'embeddings string - usage');
like($r->{heliconeId} // '', qr/^[0-9a-f-]{36}$/,
     'embeddings string - Helicone-Id');

my ($seen) = grep { ($_->{path} // '') eq '/v1/embeddings' }
             @{ $openai->requests };
is($seen->{json}{encoding_format}, 'base64',
   'embeddings string - the SDK\'s encoding_format reached the provider');

$r = sdk('embeddings-array', 'text-embedding-3-small');
is($r->{count}, 3, 'embeddings array - one vector per input');
is_deeply($r->{indexes}, [ 0, 1, 2 ], 'embeddings array - the indexes');
is($r->{usage}{prompt_tokens}, 6, 'embeddings array - usage');

# ------------------------------------------------------------- Responses

for my $case ([ 'openai', 'gpt-4o-mini' ],
              [ 'anthropic', 'claude-3-5-haiku-20241022' ])
{
    my ($who, $model) = @$case;

    $r = sdk('responses-plain', $model);
    is($r->{text}, 'Hello from mock', "responses $who - output_text");
    is($r->{status}, 'completed', "responses $who - status");
    is($r->{object}, 'response', "responses $who - object");
    ok($r->{usage}{input_tokens} > 0 && $r->{usage}{output_tokens} > 0,
       "responses $who - usage");
    like($r->{heliconeId} // '', qr/^[0-9a-f-]{36}$/,
         "responses $who - Helicone-Id");

    $r = sdk('responses-stream', $model);
    is_deeply($r->{deltas}, [ 'Hello', ' from', ' mock' ],
              "responses stream $who - the deltas, for await");
    is($r->{types}[0], 'response.created', "responses stream $who - first");
    is($r->{types}[-1], 'response.completed',
       "responses stream $who - last");
    ok(scalar(grep { $_ eq 'response.output_text.done' } @{ $r->{types} }),
       "responses stream $who - output_text.done");
    is($r->{text}, 'Hello from mock',
       "responses stream $who - the completed response's output");
    ok(($r->{usage}{output_tokens} // 0) > 0,
       "responses stream $who - usage in response.completed");

    $r = sdk('responses-tool', $model);
    is($r->{call}{name}, 'get_weather', "responses tool $who - the call");
    is_deeply(eval { decode_json($r->{call}{arguments} // '') },
              { city => 'Paris' }, "responses tool $who - its arguments");
    ok(length($r->{call}{call_id} // ''), "responses tool $who - a call_id");
    is($r->{text}, 'It is 21', "responses tool $who - the answer to its "
                               . 'result');
}

# what a Messages provider cannot do: a 400 naming the field
$r = sdk('responses-error', 'claude-3-5-haiku-20241022');
is($r->{class}, 'BadRequestError', 'previous_response_id to Anthropic - 400');
like($r->{message} // '', qr/previous_response_id/,
     'previous_response_id to Anthropic - the field named');

$t->stop;
$t->check_no_alerts;

done_testing;

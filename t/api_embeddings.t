#!/usr/bin/perl

# Tests for POST /v1/embeddings in gateway mode: routed by model to a
# provider that serves embeddings, its usage and cost logged, cached like
# chat, the Helicone-* headers, refused where no provider serves it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;

use HgTest;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $openai = $t->mock_llm('openai');
my $claude = $t->mock_llm('claude');

$ENV{HG_TEST_OPENAI_KEY} = 'sk-openai-secret';
$ENV{HG_TEST_CLAUDE_KEY} = 'sk-ant-secret';

$t->write_config($t->conf_head . <<'EOF2');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%%;
    helicone_provider_key openai env=HG_TEST_OPENAI_KEY;
    helicone_provider anthropic url=http://127.0.0.1:%%PORT_claude%%;
    helicone_provider_key anthropic env=HG_TEST_CLAUDE_KEY;
    helicone_provider azure url=http://127.0.0.1:%%PORT_openai%% api=azure
                      api_version=2024-10-21;
    helicone_provider_key azure env=HG_TEST_OPENAI_KEY;
    helicone_provider plain url=http://127.0.0.1:%%PORT_openai%%;
    helicone_provider_key plain env=HG_TEST_OPENAI_KEY;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;
        location /v1/ { helicone_pass gateway; }
        location /metrics { helicone_metrics; }
    }
}
EOF2

$t->run;

my $gw = $t->port('gw');

sub embed {
    my ($json, @h) = @_;
    return $t->http(port => $gw, method => 'POST', path => '/v1/embeddings',
                    headers => [ [ 'Content-Type', 'application/json' ], @h ],
                    body => JSON::PP->new->canonical->encode($json));
}

# ---------------------------------------------------------------- a string

my $r = embed({ model => 'text-embedding-3-small', input => 'hello' });
is($r->{status}, 200, 'string - status');
my $j = eval { decode_json($r->{body}) } // {};
is_deeply($j->{data}[0]{embedding}, [ 0.5, 0.25, 0 ], 'string - the vector');
is($j->{usage}{prompt_tokens}, 2, 'string - usage relayed');
is($r->{headers}{'helicone-provider'}, 'openai', 'string - Helicone-Provider');
like($r->{headers}{'helicone-id'} // '', qr/^[0-9a-f-]{36}$/,
     'string - Helicone-Id');

my ($req) = $openai->wait_requests(1);
is($req->{path}, '/v1/embeddings', 'provider - its embeddings path');
is($req->{headers}{authorization}, 'Bearer sk-openai-secret',
   'provider - the gateway\'s key');
is($req->{json}{model}, 'text-embedding-3-small', 'provider - the model id');
ok(!exists $req->{json}{stream_options}, 'provider - no stream_options');

my ($ev) = $t->wait_jsonl('helicone.jsonl', 1);
like($ev->{log}{request}{path}, qr{/v1/embeddings$}, 'event - the path');
is($ev->{log}{response}{promptTokens}, 2, 'event - prompt tokens');
is($ev->{log}{response}{completionTokens}, undef,
   'event - no completion tokens');
is($ev->{log}{response}{status}, 200, 'event - status');
is($ev->{attempts}[0]{outcome}, 'ok', 'event - the attempt');
# 2 tokens at $0.02 per 1M
ok(abs(($ev->{log}{response}{cost} // $ev->{cost} // -1) - 4e-8) < 1e-12,
   'event - cost from the price table')
    or diag(explain($ev->{log}{response}));

# ----------------------------------------------------------------- an array

$r = embed({ model => 'text-embedding-3-small',
             input => [ 'one', 'two', 'three' ] });
$j = eval { decode_json($r->{body}) } // {};
is(scalar @{ $j->{data} // [] }, 3, 'array - one vector per input');
is($j->{usage}{prompt_tokens}, 6, 'array - usage');

# -------------------------------------------------------------------- cache

my @cache = ([ 'Helicone-Cache-Enabled', 'true' ]);
$r = embed({ model => 'text-embedding-3-large', input => 'cached' }, @cache);
is($r->{headers}{'helicone-cache'}, 'MISS', 'cache - first is MISS');
$t->wait_jsonl('helicone.jsonl', 3);    # saved in the log phase
my $n = scalar @{ $openai->requests };
$r = embed({ model => 'text-embedding-3-large', input => 'cached' }, @cache);
is($r->{headers}{'helicone-cache'}, 'HIT', 'cache - second is HIT');
is(scalar @{ $openai->requests }, $n, 'cache - provider not asked again');
is_deeply((eval { decode_json($r->{body}) } // {})->{data}[0]{embedding},
          [ 0.5, 0.25, 0 ], 'cache - the same body');

# ----------------------------------------------------- Azure and refusals

$r = embed({ model => 'my-embedder/azure', input => 'x' });
is($r->{status}, 200, 'azure - status');
my ($az) = grep { $_->{path} =~ /deployments/ } @{ $openai->requests };
is($az->{path},
   '/openai/deployments/my-embedder/embeddings?api-version=2024-10-21',
   'azure - the deployment\'s embeddings path');

$r = embed({ model => 'claude-3-5-haiku-20241022/anthropic', input => 'x' });
is($r->{status}, 400, 'anthropic - 400');
is((eval { decode_json($r->{body}) } // {})->{error}{code},
   'unsupported_endpoint', 'anthropic - unsupported_endpoint');

$r = embed({ model => 'x/plain', input => 'x' });
is($r->{status}, 400, 'a provider without an embeddings path - 400');

$r = embed({ model => 'claude-3-5-haiku-20241022', input => 'x' });
is($r->{status}, 404, 'a model no embeddings provider serves - 404');
like((eval { decode_json($r->{body}) } // {})->{error}{message} // '',
     qr{embeddings}, 'a model no embeddings provider serves - says where');

$r = $t->http(port => $gw, path => '/metrics');
like($r->{body}, qr/helicone_requests_total\{[^}]*provider="openai"/,
     'metrics - counted per provider');

$t->stop;
$t->check_no_alerts;

done_testing;

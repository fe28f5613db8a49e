#!/usr/bin/perl

# Tests for GET /v1/models and /v1/models/{id} in gateway mode: the models
# the gateway can route now (providers with a key, or auth=none), in
# OpenAI's list shape, behind the same auth as chat.

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

my $key = 'sk-helicone-models-test';

$t->write_file('keys', sha256_hex("Bearer $key") . " org-m models\n");

$ENV{HG_TEST_OPENAI_KEY} = 'sk-openai-secret';

$t->write_config($t->conf_head . <<'EOF2');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:1;
    helicone_provider_key openai env=HG_TEST_OPENAI_KEY;
    helicone_provider mine url=http://127.0.0.1:2 auth=none;
    helicone_keys %%DIR%%/keys;
    helicone_auth required;
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
my @auth = ([ 'Authorization', "Bearer $key" ]);

sub get {
    my ($path, %o) = @_;
    return $t->http(port => $gw, path => $path, method => $o{method} // 'GET',
                    headers => $o{headers} // \@auth);
}

# ------------------------------------------------------------------ list

my $r = get('/v1/models');
is($r->{status}, 200, 'list - status');
like($r->{headers}{'content-type'} // '', qr{^application/json},
     'list - JSON');
like($r->{headers}{'helicone-id'} // '', qr/^[0-9a-f-]{36}$/,
     'list - Helicone-Id');

my $list = eval { decode_json($r->{body}) } // {};
is($list->{object}, 'list', 'list - object is list');

my %by = map { $_->{id} => $_ } @{ $list->{data} // [] };

ok($by{'gpt-4o-mini'}, 'list - an OpenAI model, its provider has a key');
is($by{'gpt-4o-mini'}{object}, 'model', 'list - object model');
is($by{'gpt-4o-mini'}{owned_by}, 'openai', 'list - owned_by the provider');
like($by{'gpt-4o-mini'}{created} // '', qr/^\d+$/, 'list - created');
ok($by{'gpt-4o-mini/openai'}, 'list - the model/provider spelling');
ok(!exists $by{'claude-3-5-haiku-20241022'} && !exists $by{'claude-3.5-haiku'},
   'list - no model whose providers lack a key');
ok(!(grep { m{/(groq|anthropic|openrouter)$} } keys %by),
   'list - no spelling with a provider without a key');
is(scalar(grep { $_->{id} =~ m{/mine$} } @{ $list->{data} }), 0,
   'list - a provider with no model in the table adds none');

# ------------------------------------------------------------- retrieve

$r = get('/v1/models/gpt-4o-mini');
is($r->{status}, 200, 'retrieve - status');
is_deeply(eval { decode_json($r->{body}) }, $by{'gpt-4o-mini'},
          'retrieve - the list\'s object');

$r = get('/v1/models/gpt-4o-mini%2Fopenai');
is((eval { decode_json($r->{body}) } // {})->{id}, 'gpt-4o-mini/openai',
   'retrieve - an escaped model/provider id');

$r = get('/v1/models/gpt-4o-mini/openai');
is((eval { decode_json($r->{body}) } // {})->{owned_by}, 'openai',
   'retrieve - the id with a slash');

$r = get('/v1/models/claude-3-5-haiku-20241022');
is($r->{status}, 404, 'retrieve unroutable - 404');
is((eval { decode_json($r->{body}) } // {})->{error}{code}, 'model_not_found',
   'retrieve unroutable - OpenAI error code');

# ---------------------------------------------------- auth, method, HEAD

$r = get('/v1/models', headers => []);
is($r->{status}, 401, 'no key - 401');

$r = get('/v1/models', method => 'POST');
is($r->{status}, 405, 'POST - 405');
is($r->{headers}{allow}, 'GET, HEAD', 'POST - Allow: GET, HEAD');

$r = get('/v1/models', method => 'HEAD');
is($r->{status}, 200, 'HEAD - 200');
is($r->{body}, '', 'HEAD - no body');

my @ev = $t->wait_jsonl('helicone.jsonl', 9);
like($ev[0]{log}{request}{path} // '', qr{/v1/models$}, 'event - the path');
is($ev[0]{log}{response}{status}, 200, 'event - status');

$t->stop;
$t->check_no_alerts;

done_testing;

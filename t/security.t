#!/usr/bin/perl

# Tests for the rules of docs/security.md that a hostile review found
# broken: what a client's headers, model names and query strings can and
# cannot do to the cache key, the upstream URL and headers, the metrics
# and the log event.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $anthropic = $t->mock_llm('anthropic');
my $openai = $t->mock_llm('openai');
my $azure = $t->mock_llm('azure');

$ENV{HG_TEST_AZURE_KEY} = 'azure-secret-9';

$t->write_config($t->conf_head . <<'EOF2');
http {
    %%HTTP_HEAD%%
    helicone_provider anthropic url=http://127.0.0.1:%%PORT_anthropic%%;
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%%;
    helicone_provider myazure url=http://127.0.0.1:%%PORT_azure%% api=azure
                      api_version=2024-10-21;
    helicone_provider_key myazure env=HG_TEST_AZURE_KEY;
    helicone_auth off;
    helicone_store shm zone=store:1m;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /anthropic/ {
            rewrite ^/anthropic(/.*)$ $1 break;
            helicone_pass anthropic;
            helicone_cache on;
        }

        location /v1/ {
            helicone_pass openai;
            helicone_cache on;
        }

        location /gw/v1/ {
            helicone_pass gateway;
        }

        location /locked/v1/ {
            rewrite ^/locked(/.*)$ $1 break;
            helicone_pass openai;
            helicone_auth required;
        }
    }
}
EOF2

$t->run;

my $gw = $t->port('gw');

# ------------------------------------------------- the proxy cache's key

# every credential the request carries upstream is part of the key: a
# different (or bad) key never gets another key's answer
sub anthropic_call {
    my (@h) = @_;
    return $t->chat(port => $gw, path => '/anthropic/v1/messages',
                    headers => [ [ 'anthropic-version', '2023-06-01' ], @h ],
                    json => { model => 'claude-3-5-haiku-20241022',
                              max_tokens => 10,
                              messages => [ { role => 'user',
                                              content => 'cache me' } ] });
}

my $r = anthropic_call([ 'x-api-key', 'key-A' ]);
is($r->{status}, 200, 'cache key - x-api-key A stored');
ok($t->wait_for(sub {
       (anthropic_call([ 'x-api-key', 'key-A' ])->{headers}{'helicone-cache'}
        // '') eq 'HIT' }), 'cache key - x-api-key A hits');
my $n = scalar @{ $anthropic->requests };
$r = anthropic_call([ 'x-api-key', 'B-invalid' ]);
is($r->{headers}{'helicone-cache'}, 'MISS',
   'cache key - x-api-key B misses A\'s answer');
is(scalar @{ $anthropic->requests }, $n + 1,
   'cache key - the provider is asked for B');

sub openai_call {
    my ($path, @h) = @_;
    return $t->chat(port => $gw, path => $path, headers => \@h,
                    json => { model => 'gpt-4o-mini',
                              messages => [ { role => 'user',
                                              content => 'cache me' } ] });
}

$r = openai_call('/v1/chat/completions', [ 'api-key', 'azure-A' ]);
ok($t->wait_for(sub {
       (openai_call('/v1/chat/completions', [ 'api-key', 'azure-A' ])
            ->{headers}{'helicone-cache'} // '') eq 'HIT' }),
   'cache key - api-key A hits');
is(openai_call('/v1/chat/completions', [ 'api-key', 'azure-B' ])
       ->{headers}{'helicone-cache'}, 'MISS',
   'cache key - api-key B misses');
is(openai_call('/v1/chat/completions', [ 'x-goog-api-key', 'g-B' ])
       ->{headers}{'helicone-cache'}, 'MISS',
   'cache key - x-goog-api-key misses');

$r = openai_call('/v1/chat/completions?key=q-A');
ok($t->wait_for(sub {
       (openai_call('/v1/chat/completions?key=q-A')
            ->{headers}{'helicone-cache'} // '') eq 'HIT' }),
   'cache key - a key in the query hits');
is(openai_call('/v1/chat/completions?key=q-B')->{headers}{'helicone-cache'},
   'MISS', 'cache key - another key in the query misses');

sub gw_call {
    my ($model, @h) = @_;
    return $t->chat(port => $gw, path => '/gw/v1/chat/completions',
                    headers => \@h,
                    json => { model => $model,
                              messages => [ { role => 'user',
                                              content => 'hi' } ] });
}

# ------------------------------------------- keys in the query: not logged

my $secret = 'AIzaSyNOTREALbutSECRET0123456789';
$r = openai_call("/v1/chat/completions?alt=sse&key=$secret&api-key=$secret"
                 . "&x=1");
is($r->{status}, 200, 'query key - served');
my $got = ($openai->wait_requests(1))[-1] // {};
like($got->{path} // '', qr/key=\Q$secret\E/,
     'query key - the provider still gets it');
my $ev = $t->wait_event($r->{headers}{'helicone-id'}) // {};
my $text = HgTest::json_encode($ev);
unlike($text, qr/\Q$secret\E/, 'query key - nowhere in the event');
like($ev->{log}{request}{path} // '',
     qr{/v1/chat/completions\?alt=sse&key=REDACTED&api-key=REDACTED&x=1$},
     'query key - path redacted');
like($ev->{log}{request}{targetUrl} // '', qr/key=REDACTED&api-key=REDACTED/,
     'query key - targetUrl redacted');
like($ev->{attempts}[0]{url} // '', qr/key=REDACTED&api-key=REDACTED/,
     'query key - attempts[].url redacted');

# ----------------------------------------- headers the client's Connection names

$n = scalar @{ $openai->requests };
$r = openai_call('/v1/chat/completions?hop=1',
                 [ 'Connection', 'close, X-Hop-Secret' ],
                 [ 'Connection', 'x-other-hop' ],
                 [ 'X-Hop-Secret', 'for the next hop only' ],
                 [ 'X-Other-Hop', 'also' ],
                 [ 'X-Kept', 'end to end' ]);
is($r->{status}, 200, 'connection - served');
$got = ($openai->wait_requests($n + 1))[-1] // {};
ok(!exists $got->{headers}{'x-hop-secret'},
   'connection - a header it names is not forwarded');
ok(!exists $got->{headers}{'x-other-hop'},
   'connection - named in a second Connection header: not either');
is($got->{headers}{'x-kept'}, 'end to end',
   'connection - other headers are');

$n = scalar @{ $azure->requests };
$r = gw_call('my-deploy/myazure', [ 'Connection', 'keep-alive, x-hop-secret' ],
             [ 'X-Hop-Secret', 'no' ], [ 'Connection', 'close' ]);
$got = ($azure->wait_requests($n + 1))[-1] // {};
ok(!exists $got->{headers}{'x-hop-secret'}, 'connection - gateway mode too');

# ----------------------------------------- property names once in the event

$r = gw_call('my-deploy/myazure', [ 'Helicone-Property-Team', 'red' ],
             [ 'helicone-property-team', 'blue' ],
             [ 'Helicone-Session-Id', 's1' ], [ 'Helicone-Session-Id', 's2' ]);
$ev = $t->wait_event($r->{headers}{'helicone-id'}) // {};
my ($line) = grep { index($_, $r->{headers}{'helicone-id'}) >= 0 }
             split /\n/, $t->read_file('helicone.jsonl');
my @teams = ($line // '') =~ /"team":/g;
is(scalar @teams, 1, 'properties - a name differing only in case: once');
is($ev->{log}{request}{properties}{team}, 'blue',
   'properties - the last value');
my @sessions = ($line // '') =~ /"Helicone-Session-Id":/g;
is(scalar @sessions, 1, 'properties - a repeated session header: once');

# ----------------------------------------- the proxy mode's 401 says how

$r = openai_call('/locked/v1/chat/completions',
                 [ 'Authorization', 'Bearer sk-provider-key' ]);
is($r->{status}, 401, 'proxy 401 - refused');
my $msg = $r->{json}{error}{message} // '';
like($msg, qr/Helicone-Auth/, 'proxy 401 - names Helicone-Auth');
unlike($msg, qr/Authorization/,
       'proxy 401 - not Authorization, which is the provider\'s here');

# ------------------------------------------- Azure deployments: one segment

$r = gw_call('my-deploy/myazure');
is($r->{status}, 200, 'azure - a deployment name is served');
my @az = $azure->wait_requests(1);
like($az[-1]{path} // '', qr{^/openai/deployments/my-deploy/chat/completions\?},
     'azure - the deployment is one path segment');

$n = scalar @{ $azure->requests };
for my $bad ('../../../../v1/foo', '..', 'a%2F..%2Fb', "a\tb", 'a\\b',
             'x?y=1', 'x#y')
{
    $r = gw_call("$bad/myazure");
    is($r->{status}, 400, "azure - \"$bad\" refused");
    is($r->{json}{error}{code}, 'invalid_model', "azure - \"$bad\" why");
}
is(scalar @{ $azure->requests }, $n, 'azure - the provider never asked');

$t->stop;
$t->check_no_alerts;

done_testing;

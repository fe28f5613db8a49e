#!/usr/bin/perl

# Tests for helicone_cors: off by default (a preflight gets 405 and no
# Access-Control-* header); a listed origin's preflight is answered with
# 204 before authentication, with only the allowed request headers; its
# responses, errors included, carry the origin; an origin not listed gets
# nothing; "*"; a provider's own CORS headers are replaced; bad configs.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $app = 'https://app.example.com';

# the provider answers with CORS headers of its own
my $mock = $t->mock_llm('openai', handler => sub {
    my ($req) = @_;
    return undef unless ($req->{path} // '') =~ m{^/own/};
    return { status => 200,
             json => MockLLM::openai_completion('gpt-4o-mini', 'Hi'),
             headers => [ [ "Access-Control-Allow-Origin", "*" ] ] };
});

$t->write_config($t->conf_head . <<"EOF");
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_keys %%DIR%%/keys;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }

        location /cors/v1/ {
            helicone_pass gateway;
            helicone_cors $app http://localhost:3000;
        }

        location /any/v1/ {
            helicone_pass gateway;
            helicone_auth optional;
            helicone_cors *;
        }

        location /openai/ {
            rewrite ^/openai(/.*)\$ /own\$1 break;
            helicone_pass openai;
            helicone_auth optional;
            helicone_cors $app;
        }
    }
}
EOF

$t->write_file('keys', '');
$t->run;

my $gw = $t->port('gw');

sub preflight {
    my ($path, $origin, $headers) = @_;
    return $t->http(port => $gw, method => 'OPTIONS', path => $path,
                    headers => [
                        [ 'Origin', $origin ],
                        [ 'Access-Control-Request-Method', 'POST' ],
                        $headers ? ([ 'Access-Control-Request-Headers',
                                      $headers ]) : (),
                    ]);
}

my $sdk_headers = 'authorization,content-type,helicone-cache-enabled,'
    . 'x-stainless-os,x-stainless-retry-count,openai-organization,'
    . 'x-api-key,anthropic-version,anthropic-dangerous-direct-browser-access';

# ------------------------------------------------------------- off: default

my $r = preflight('/v1/chat/completions', $app, 'authorization');
is($r->{status}, 405, 'off - a preflight is a method not allowed');
ok(!grep({ /^access-control-/ } keys %{ $r->{headers} }),
   'off - no Access-Control-* header');

# -------------------------------------------------------- a listed origin

$r = preflight('/cors/v1/chat/completions', $app, $sdk_headers);
is($r->{status}, 204, 'preflight - 204 without a key');
is($r->{headers}{'access-control-allow-origin'}, $app,
   'preflight - the origin allowed');
like($r->{headers}{'access-control-allow-methods'} // '', qr/\bPOST\b/,
     'preflight - POST allowed');
is($r->{headers}{'access-control-allow-headers'}, $sdk_headers,
   'preflight - the SDKs\' and Helicone headers allowed');
is($r->{headers}{'access-control-max-age'}, 7200, 'preflight - max age');
like($r->{headers}{vary} // '', qr/\bOrigin\b/, 'preflight - Vary: Origin');
is($r->{body} // '', '', 'preflight - no body');

$r = preflight('/cors/v1/chat/completions', 'http://localhost:3000',
               'Authorization, X-Unknown, Cookie');
is($r->{headers}{'access-control-allow-origin'}, 'http://localhost:3000',
   'preflight - the second origin');
is($r->{headers}{'access-control-allow-headers'}, 'Authorization',
   'preflight - headers not on the list are left out');

# an origin not listed: nothing loosened, the request goes on as any other
$r = preflight('/cors/v1/chat/completions', 'https://evil.example.com',
               'authorization');
is($r->{status}, 405, 'unlisted - its preflight is not answered');
ok(!grep({ /^access-control-/ } keys %{ $r->{headers} }),
   'unlisted - no Access-Control-* header');

$r = preflight('/cors/v1/chat/completions', "$app.evil.com", 'authorization');
is($r->{status}, 405, 'unlisted - a longer origin does not match');

# the actual request: refused for want of a key, readable by the page
my $chat = { model => 'gpt-4o-mini',
             messages => [ { role => 'user', content => 'Hi' } ] };

$r = $t->chat(port => $gw, path => '/cors/v1/chat/completions',
              json => $chat, headers => [ [ 'Origin', $app ] ]);
is($r->{status}, 401, 'error - 401 without a key');
is($r->{headers}{'access-control-allow-origin'}, $app,
   'error - the page may read it');
like($r->{headers}{'access-control-expose-headers'} // '', qr/Helicone-Id/,
     'error - Helicone-Id exposed');

$r = $t->chat(port => $gw, path => '/cors/v1/chat/completions',
              json => $chat,
              headers => [ [ 'Origin', 'https://evil.example.com' ] ]);
ok(!exists $r->{headers}{'access-control-allow-origin'},
   'error - not for an unlisted origin');

# ---------------------------------------------------------------------- *

$r = preflight('/any/v1/chat/completions', 'https://anyone.example',
               'content-type');
is($r->{status}, 204, '* - any origin\'s preflight');
is($r->{headers}{'access-control-allow-origin'}, '*', '* - the wildcard');

$r = $t->chat(port => $gw, path => '/any/v1/chat/completions', json => $chat,
              headers => [ [ 'Origin', 'https://anyone.example' ] ]);
is($r->{status}, 200, '* - served');
is($r->{headers}{'access-control-allow-origin'}, '*', '* - on the response');

$r = $t->chat(port => $gw, path => '/any/v1/chat/completions', json => $chat);
ok(!exists $r->{headers}{'access-control-allow-origin'},
   '* - nothing without an Origin');

# ------------------------------------- a provider's own headers replaced

$r = $t->chat(port => $gw, path => '/openai/v1/chat/completions',
              json => $chat, headers => [ [ 'Origin', $app ] ]);
is($r->{status}, 200, 'proxy - served');
is($r->{headers}{'access-control-allow-origin'}, $app,
   'proxy - ours, not the provider\'s "*"');

$t->stop;
$t->check_no_alerts;

# ------------------------------------------------------------ bad configs

for my $case ([ 'helicone_cors * https://a.example;', 'takes "*" alone' ],
              [ 'helicone_cors https://a.example/path;', 'invalid origin' ],
              [ 'helicone_cors off; helicone_cors *;', 'is duplicate' ])
{
    my ($line, $want) = @$case;
    my $c = HgTest->new;
    $c->write_config($c->conf_head . "http { $line }\n");
    my ($code, $out) = $c->nginx_t;
    isnt($code, 0, "conf - $line refused");
    like($out, qr/\Q$want\E/, "conf - $line: $want");
}

done_testing;

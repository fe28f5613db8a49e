#!/usr/bin/perl

# Tests for helicone cache and cents limits with no log sink: both still
# learn each response's outcome.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $openai = $t->mock_llm('openai');

$t->write_config($t->conf_head . <<'EOF2');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_auth off;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            helicone_cache on;
        }

        location /cents/v1/ {
            helicone_pass gateway;
            helicone_ratelimit "0.0005;w=3600;u=cents";
        }
    }
}
EOF2

$t->run;

sub call {
    my ($path) = @_;
    return $t->chat(port => $t->port('gw'), path => $path,
                    json => { model => 'gpt-4o-mini',
                              messages => [ { role => 'user',
                                              content => 'hi' } ] });
}

is(call('/v1/chat/completions')->{headers}{'helicone-cache'}, 'MISS',
   'no log - a miss first');
ok($t->wait_for(sub {
       (call('/v1/chat/completions')->{headers}{'helicone-cache'} // '')
       eq 'HIT' }), 'no log - the response was stored all the same');

# 0.000345 cents a call against 0.0005: the third is refused
ok($t->wait_for(sub { call('/cents/v1/chat/completions')->{status} == 429 }),
   'no log - cents charged all the same');

$t->stop;
$t->check_no_alerts;

done_testing;

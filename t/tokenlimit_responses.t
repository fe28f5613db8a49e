#!/usr/bin/perl

# Helicone-Token-Limit-Exception-Handler on a Responses body
# (POST /v1/responses): the instructions and input counted, the input
# cut to the model's window less max_output_tokens.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;

use HgTest;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $one = $t->mock_llm('one');

$t->write_config($t->conf_head . <<'EOF2');
http {
    %%HTTP_HEAD%%
    helicone_provider one url=http://127.0.0.1:%%PORT_one%% auth=none
                      responses=/v1/responses;
    helicone_auth off;
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

my $doc = join(' ', ('sentence') x 400);

# gpt-4o-mini: a 128000-token window; 127,900 asked for the answer leaves
# 100 tokens (400 characters) for the prompt
my %body = (
    model             => 'gpt-4o-mini/one',
    instructions      => 'answer briefly',
    input             => $doc,
    max_output_tokens => 127_900,
);

sub send_body {
    my (@h) = @_;
    return $t->chat(port => $t->port('gw'), path => '/v1/responses',
                    json => \%body, headers => \@h);
}

my $r = send_body();
is($r->{status}, 200, 'no header - answered');
my @req = $one->requests;
is($req[-1]{json}{input}, $doc, 'no header - the input as sent');

$r = send_body([ 'Helicone-Token-Limit-Exception-Handler', 'truncate' ]);
is($r->{status}, 200, 'truncate - answered');
@req = $one->requests;
my $up = $req[-1]{json};
like($req[-1]{path}, qr{/v1/responses$}, 'truncate - still a Responses call');
is($up->{instructions}, 'answer briefly', 'truncate - instructions kept');
ok(length($up->{input}) + length($up->{instructions}) <= 400,
   'truncate - instructions and input within 400 characters ('
   . (length($up->{input}) + length($up->{instructions})) . ')');
like($up->{input}, qr/^sentence sentence/, 'truncate - the input\'s start');
is($up->{max_output_tokens}, 127_900, 'truncate - the rest kept');

my $ev = $t->wait_event($r->{headers}{'helicone-id'});
is($ev->{log}{request}{tokenLimit}{strategy}, 'truncate',
   'truncate - the event says so');
is($ev->{log}{request}{tokenLimit}{limit}, 100, 'truncate - limit 100');

$t->stop;
$t->check_no_alerts;

done_testing;

#!/usr/bin/perl

# Tests for helicone_metrics and helicone_health: requests, tokens and cost
# by provider, model and status; cache hits and misses; attempts, retries
# and fallbacks; the latency histograms; counters kept across a reload;
# refused requests counted under model="other", never the client's text.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

sub behaviour {
    return sub {
        my ($req) = @_;
        my $case = $req->{headers}{'x-case'} // '';

        return { status => 500, json => MockLLM::openai_error(500,
                 'broken', 'server_error') } if $case eq 'fail';
        return undef;
    };
}

my $one = $t->mock_llm('one', handler => behaviour());
my $two = $t->mock_llm('two');

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider one url=http://127.0.0.1:%%PORT_one%% auth=none;
    helicone_provider two url=http://127.0.0.1:%%PORT_two%% auth=none;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }

        location /chain/v1/ {
            helicone_pass gateway;
            helicone_fallback_models m2/two;
        }

        location /locked/v1/ {
            helicone_pass gateway;
            helicone_auth required;
        }

        location /cached/v1/ {
            helicone_pass gateway;
            helicone_cache on;
        }

        location = /metrics { helicone_metrics; }
        location = /healthz { helicone_health; }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');

# the exposition text; nothing asserted here, as polls call it any number
# of times (a non-200 answer reads as no samples, and the checks fail)
sub metrics {
    my $r = $t->http(port => $gw, path => '/metrics');
    return $r->{status} == 200 ? $r->{body} // '' : '';
}

my $first = $t->http(port => $gw, path => '/metrics');
is($first->{status}, 200, 'metrics - status');
like($first->{headers}{'content-type'} // '', qr{^text/plain},
     'metrics - text/plain');

# the value of one sample, or undef when it is not there
sub sample {
    my ($text, $name, $labels) = @_;
    my $want = $name . ($labels // '');

    for my $line (split /\n/, $text) {
        next if $line =~ /^#/;
        my ($key, $value) = $line =~ /^(\S+) (\S+)$/ or next;
        return $value if $key eq $want;
    }

    return undef;
}

sub chat {
    my ($path, $model, @h) = @_;
    return $t->http(port => $gw, method => 'POST', path => $path,
                    headers => [ [ 'Content-Type', 'application/json' ], @h ],
                    body => qq({"model":"$model","messages":)
                            . qq([{"role":"user","content":"hi"}]}));
}

my $m = metrics();
like($m, qr/^# TYPE helicone_requests_total counter$/m,
     'metrics - typed counters');
is(sample($m, 'helicone_attempts_total'), 0, 'metrics - nothing yet');

my $r = $t->http(port => $gw, path => '/healthz');
is($r->{status}, 200, 'health - status');
is($r->{body}, qq({"status":"ok"}\n), 'health - body');
like($r->{headers}{'content-type'}, qr{^application/json}, 'health - type');

$r = $t->http(port => $gw, method => 'DELETE', path => '/metrics');
is($r->{status}, 405, 'metrics - only GET and HEAD');

# three successes on one, one failure on one
is(chat('/v1/chat/completions', 'm1/one')->{status}, 200, 'ok 1') for 1 .. 3;
is(chat('/v1/chat/completions', 'm1/one', [ 'X-Case', 'fail' ])->{status},
   500, 'failure relayed');

# a fallback: one fails, two serves
is(chat('/chain/v1/chat/completions', 'm1/one', [ 'X-Case', 'fail' ])
   ->{status}, 200, 'fallback served');

# a miss then a hit
is(chat('/cached/v1/chat/completions', 'm1/one')->{status}, 200, 'miss');
$r = chat('/cached/v1/chat/completions', 'm1/one');
is($r->{headers}{'helicone-cache'}, 'HIT', 'hit');

# the log phase runs after the response: poll until all 7 are counted
my $count;
$t->wait_for(sub {
    $m = metrics();
    $count = 0;
    $count += $_ for $m =~ /^helicone_requests_total\{[^}]*\} (\d+)$/mg;
    $count == 7;
});
is($count, 7, 'all requests counted');

my $ok = '{provider="one",model="m1",status="200"}';

is(sample($m, 'helicone_requests_total', $ok), 4,
   'requests - one, m1, 200 (3 + the cache miss)');
is(sample($m, 'helicone_requests_total',
          '{provider="one",model="m1",status="500"}'), 1,
   'requests - one, m1, 500');
is(sample($m, 'helicone_requests_total',
          '{provider="two",model="m2",status="200"}'), 1,
   'requests - the fallback counted under its target');
is(sample($m, 'helicone_requests_total',
          '{provider="cache",model="m1/one",status="200"}'), 1,
   'requests - the hit under provider "cache", the model as asked');

# the mock reports 11 prompt and 3 completion tokens per answer
is(sample($m, 'helicone_prompt_tokens_total', $ok), 44, 'prompt tokens');
is(sample($m, 'helicone_completion_tokens_total', $ok), 12,
   'completion tokens');
like(sample($m, 'helicone_cost_usd_total', $ok) // '', qr/^\d+\.\d{12}$/,
     'cost - dollars with 12 decimals');

is(sample($m, 'helicone_cache_hits_total'), 1, 'cache hits');
is(sample($m, 'helicone_cache_misses_total'), 1, 'cache misses');
is(sample($m, 'helicone_attempts_total'), 7,
   'attempts - 6 calls, the fallback made two');
is(sample($m, 'helicone_fallbacks_total'), 1, 'fallbacks');
is(sample($m, 'helicone_rate_limited_total'), 0, 'rate limited');

is(sample($m, 'helicone_request_duration_seconds_count'), 7,
   'duration - every request observed');
is(sample($m, 'helicone_request_duration_seconds_bucket', '{le="+Inf"}'), 7,
   'duration - +Inf bucket is the count');

my @le = $m =~ /^helicone_request_duration_seconds_bucket\{le="[\d.]+"\} (\d+)$/mg;
ok(@le == 14 && !grep({ $le[$_] < $le[$_ - 1] } 1 .. $#le),
   'duration - 14 cumulative buckets');
ok(sample($m, 'helicone_time_to_first_byte_seconds_count') >= 5,
   'first byte - observed for provider answers');

# a reload keeps the zone, and the counters with it
$t->reload;
$m = metrics();
is(sample($m, 'helicone_requests_total', $ok), 4, 'reload - counters kept');

is(chat('/v1/chat/completions', 'm1/one')->{status}, 200, 'after reload');
$t->wait_for(sub {
    (sample(metrics(), 'helicone_requests_total', $ok) // 0) == 5;
});
is(sample(metrics(), 'helicone_requests_total', $ok), 5,
   'reload - counting goes on');

# a model name with a quote is escaped in its label
is(chat('/v1/chat/completions', 'we\\"ird/one')->{status}, 200,
   'odd model');
$t->wait_for(sub { metrics() =~ /model="we\\"ird"/ });
like(metrics(), qr/^helicone_requests_total\{provider="one",model="we\\"ird",status="200"\} 1$/m,
     'labels - quote escaped');

# refused requests (no provider asked) take no label from the client:
# made-up models would fill the label table for good
for my $i (1 .. 20) {
    chat('/locked/v1/chat/completions', "made-up-$i");
}
is(chat('/v1/chat/completions', 'no-such-model-anywhere')->{status}, 404,
   'refused - unknown model');
$t->wait_for(sub {
    (sample(metrics(), 'helicone_requests_total',
            '{provider="none",model="other",status="401"}') // 0) == 20;
});
$m = metrics();
is(sample($m, 'helicone_requests_total',
          '{provider="none",model="other",status="401"}'), 20,
   'refused - 401s counted under model="other"');
$t->wait_for(sub {
    sample(metrics(), 'helicone_requests_total',
           '{provider="none",model="other",status="404"}');
});
$m = metrics();
is(sample($m, 'helicone_requests_total',
          '{provider="none",model="other",status="404"}'), 1,
   'refused - a 404 too');
unlike($m, qr/made-up|no-such-model-anywhere/,
       'refused - no label from the client\'s text');
# Prometheus's own linter: HELP and TYPE for every family, names, units
SKIP: {
    skip 'promtool is not installed (make deps: prometheus)', 2
        unless system('command -v promtool >/dev/null 2>&1') == 0;

    my $text = metrics();
    $t->write_file('metrics.txt', $text);
    my $out = `promtool check metrics < '${\ $t->path('metrics.txt')}' 2>&1`;
    is($? >> 8, 0, 'promtool check metrics - passes') or diag($out);
    is($out, '', 'promtool check metrics - no complaint');
}

$t->check_no_alerts;

done_testing;

#!/usr/bin/perl

# Tests for faults of one provider with no other target to go to: a reset,
# a stall, a 429, a broken or oversized response head; malformed SSE;
# clients much slower than the provider; request and response bodies of
# megabytes. Each answer is whole or a clear JSON error, each request is
# logged once, and the worker lives on.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;
use Time::HiRes qw(time sleep);

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $model = 'gpt-4o-mini';

sub chunk_ev {
    my ($text) = @_;
    return MockLLM::sse_data(MockLLM::openai_chunk($model, $text));
}

my $usage_ev = MockLLM::sse_data({
    id => 'chatcmpl-mock', object => 'chat.completion.chunk',
    created => $MockLLM::CREATED, model => $model, choices => [],
    usage => MockLLM::openai_usage() });

# SSE a provider should not send, and the good events around it
my @malformed = (
    chunk_ev('before'),
    "data: {\"id\": \"broken json\n\n",
    "a line that is no field\n\n",
    ": a comment\n\n",
    "event: ping\ndata: \n\n",
    "data: \xff\xfe\x00 not UTF-8\n\n",
    "data: [1, 2, 3]\n\n",
    chunk_ev('after'),
    $usage_ev,
    "data: [DONE]\n\n",
);

# 2 MB of SSE in 100 KB events, and a 3 MB JSON answer
my @big_stream = (map { chunk_ev(sprintf('%04d', $_) x 25_000) } 1 .. 20);
push @big_stream, $usage_ev, "data: [DONE]\n\n";
my $big_json = HgTest::json_encode(
    MockLLM::openai_completion($model, 'x' x 3_000_000));

# the scenario is the first message's content
my %scenario = (
    reset     => sub { { reset => 1 } },
    stall     => sub { { stall => 1 } },
    ratelimit => sub {
        { status => 429, headers => [ [ 'Retry-After', '7' ] ],
          json => { error => { message => 'slow down', type => 'requests',
                               param => undef,
                               code => 'rate_limit_exceeded' } } };
    },
    garbage   => sub { { raw => "this is not HTTP\r\n\r\n" } },
    bighead   => sub {
        { headers => [ [ 'X-Padding', 'p' x 20_000 ] ],
          json => MockLLM::openai_completion($model, 'hidden') };
    },
    malformed => sub { { sse => [ @malformed ] } },
    bigstream => sub { { sse => [ @big_stream ] } },
    bigjson   => sub {
        { body => $big_json,
          headers => [ [ 'Content-Type', 'application/json' ] ] };
    },
    echo      => sub {
        my ($req) = @_;
        my $body = $req->{body} // '';
        { json => MockLLM::openai_completion($model,
                      length($body) . ' ' . sha256_hex($body)) };
    },
);

my $openai = $t->mock_llm('openai', handler => sub {
    my ($req) = @_;
    my $c = $req->{json}{messages}[0]{content} // '';
    my ($name) = split /:/, $c, 2;
    return $scenario{$name} ? $scenario{$name}->($req) : undef;
});

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;
    helicone_attempt_timeout 500ms;
    client_max_body_size 8m;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }

        # megabytes: more time to send them, and usage read past 3 MB
        location /big/v1/ {
            helicone_pass gateway;
            helicone_attempt_timeout 30s;
            helicone_response_buffer 4m;
        }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my $workers = join ' ', sort $t->worker_pids;

sub call {
    my ($content, %a) = @_;
    my $stream = delete $a{stream};
    # with usage asked for, the provider's stream is the client's as it is
    return $t->chat(port => $gw, timeout => 20, %a,
                    json => { model => $model,
                              ($stream ? (stream => JSON::PP::true(),
                                          stream_options => {
                                              include_usage =>
                                                  JSON::PP::true() })
                                       : ()),
                              messages => [ { role => 'user',
                                              content => $content } ] });
}

sub event { $t->wait_event($_[0]{headers}{'helicone-id'}) // {} }

# an OpenAI-style error: status, code, and a message naming the provider
sub error_is {
    my ($r, $status, $code, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my $err = ref $r->{json} eq 'HASH' ? $r->{json}{error} // {} : {};
    is($r->{status}, $status, "$name - status $status");
    is($err->{code}, $code, "$name - code $code");
    like($err->{message} // '', qr/openai/, "$name - message names it");
    like($r->{headers}{'helicone-id'} // '', qr/^[0-9a-f-]{36}$/,
         "$name - Helicone-Id");
}

# ------------------------------------------- one target, no next target

my $r = call('reset');
error_is($r, 502, 'upstream_failed', 'reset');
my $ev = event($r);
is(scalar @{ $ev->{attempts} // [] }, 1, 'reset - one attempt');
is($ev->{attempts}[0]{outcome}, 'failed', 'reset - logged as failed');
is($ev->{log}{response}{status}, 502, 'reset - logged with its status');

my $t0 = time;
$r = call('stall');
my $took = time - $t0;
error_is($r, 504, 'upstream_failed', 'stall');
cmp_ok($took, '>=', 0.45, 'stall - after the attempt timeout');
cmp_ok($took, '<', 3, 'stall - and not much later');
$ev = event($r);
is($ev->{attempts}[0]{error}, 'timeout', 'stall - logged as a timeout');

$r = call('ratelimit');
is($r->{status}, 429, '429 - relayed');
is($r->{json}{error}{code}, 'rate_limit_exceeded', '429 - the provider\'s body');
is($r->{headers}{'retry-after'}, '7', '429 - its Retry-After');
is(event($r)->{log}{response}{status}, 429, '429 - logged');

$r = call('garbage');
error_is($r, 502, 'upstream_failed', 'not HTTP');
is(event($r)->{attempts}[0]{outcome}, 'failed', 'not HTTP - logged');

# past proxy_buffer_size: nginx refuses the head, the body never shows
$r = call('bighead');
error_is($r, 502, 'upstream_failed', 'oversized response head');
unlike($r->{body}, qr/hidden/, 'oversized response head - no body');
ok($t->wait_log(qr/upstream sent too big header/),
   'oversized response head - nginx says why');

# ----------------------------------------------------------- malformed SSE

$r = call('malformed', stream => 1);
is($r->{status}, 200, 'malformed SSE - 200');
is($r->{body}, join('', @malformed), 'malformed SSE - relayed byte for byte');
$ev = event($r);
is($ev->{log}{response}{status}, 200, 'malformed SSE - logged');
ok(!$ev->{truncated}, 'malformed SSE - not truncated: it ended');
is($ev->{log}{response}{promptTokens}, 11,
   'malformed SSE - the usage event still read');
is($ev->{log}{response}{bodySize}, length join('', @malformed),
   'malformed SSE - every byte counted');

# ------------------------------------------------------------ slow client

# reads 64 KB at most every 20 ms: the provider is far faster, so the
# gateway must hold back reading it rather than buffer without limit
my $reads = 0;
my $slow = sub { $reads++; sleep 0.02 };

$r = call('bigstream', stream => 1, on_chunk => $slow);
my $want = join '', @big_stream;
is($r->{status}, 200, 'slow client, stream - 200');
is(length($r->{body} // ''), length $want, 'slow client, stream - every byte');
ok(($r->{body} // '') eq $want, 'slow client, stream - the same bytes');
cmp_ok($reads, '>', 10, 'slow client, stream - read in many pieces');
$ev = event($r);
is($ev->{log}{response}{bodySize}, length $want,
   'slow client, stream - logged in full');
is($ev->{log}{response}{completionTokens}, 3,
   'slow client, stream - usage at the end read');
ok($ev->{log}{response}{bodyTruncated},
   'slow client, stream - the logged body capped');

$r = call('bigjson', on_chunk => $slow, path => '/big/v1/chat/completions');
is($r->{status}, 200, 'slow client, JSON - 200');
ok(($r->{body} // '') eq $big_json, 'slow client, JSON - the same 3 MB');
$ev = event($r);
is($ev->{log}{response}{bodySize}, length $big_json,
   'slow client, JSON - logged in full');
is($ev->{log}{response}{promptTokens}, 11,
   'slow client, JSON - usage read past 3 MB of content');

# ------------------------------------------------------------ a big body

my $filler = 'y' x 5_000_000;
my $body = HgTest::json_encode({ model => $model, messages => [
               { role => 'user', content => 'echo' },
               { role => 'user', content => $filler } ] });
$r = $t->chat(port => $gw, body => $body, timeout => 20,
             path => '/big/v1/chat/completions');
is($r->{status}, 200, '5 MB request - 200');
my ($len, $sum) = split / /, $r->{json}{choices}[0]{message}{content} // '';
is($len, length $body, '5 MB request - the provider got every byte');
is($sum, sha256_hex($body), '5 MB request - unchanged');
$ev = event($r);
is($ev->{log}{request}{bodySize}, length $body, '5 MB request - logged');
ok($ev->{log}{request}{bodyTruncated}, '5 MB request - logged body capped');

# ------------------------------------------------------------- after all

is(join(' ', sort $t->worker_pids), $workers, 'the worker never died');
is(call('hello')->{status}, 200, 'and serves the next request');

my @events = $t->read_jsonl('helicone.jsonl');
my %seen;
$seen{ $_->{id} }++ for @events;
is(scalar(grep { $_ > 1 } values %seen), 0, 'one event per request');

$t->stop;
$t->check_no_alerts;

done_testing;

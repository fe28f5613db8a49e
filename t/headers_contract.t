#!/usr/bin/perl

# Tests for the rest of Helicone's request-header contract:
# Helicone-Token-Limit-Exception-Handler (truncate, middle-out,
# fallback), Helicone-Stream-Usage in proxy mode,
# Helicone-Increase-Timeout, Helicone-Target-Provider and
# Helicone-Stream-Force-Format, against mock providers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use JSON::PP;
use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $JSON = JSON::PP->new->utf8->canonical;

sub chunk_ev {
    my ($text) = @_;
    return MockLLM::sse_data(MockLLM::openai_chunk('gpt-4o-mini', $text));
}

# the scenario is the last message's content
my %scenario = (
    # the response headers 1.5 s late
    slow => sub {
        return { delay_ms => 1500,
                 json => MockLLM::openai_completion('gpt-4o-mini', 'late') };
    },

    # every event in two writes, 100 ms apart
    tiny => sub {
        my @pieces;
        for my $ev (chunk_ev('a'), chunk_ev('b'), chunk_ev('c'),
                    "data: [DONE]\n\n")
        {
            my $half = int(length($ev) / 2);
            push @pieces, { delay_ms => 100, data => substr($ev, 0, $half) },
                          { delay_ms => 100, data => substr($ev, $half) };
        }
        return { sse => \@pieces };
    },

    # one event, then 3 s of silence before the rest
    stall => sub {
        return { sse => [ { data => chunk_ev('a') },
                          { delay_ms => 3000,
                            data => chunk_ev('b') . "data: [DONE]\n\n" } ] };
    },
);

my $handler = sub {
    my ($req) = @_;
    my $m = $req->{json}{messages} // [];
    my $c = @$m ? $m->[-1]{content} // '' : '';
    my $s = $scenario{$c} or return undef;
    return $s->($req);
};

my $one = $t->mock_llm('one', handler => $handler);
my $two = $t->mock_llm('two', handler => $handler);
my $claude = $t->mock_llm('claude', anthropic => 1);

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider one url=http://127.0.0.1:%%PORT_one%% auth=none;
    helicone_provider two url=http://127.0.0.1:%%PORT_two%% auth=none;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    # an attempt location of its own: a proxy that waits 1 s for a read
    server {
        listen 127.0.0.1:%%PORT_short%%;

        location = /_helicone/attempt {
            internal;
            proxy_pass                 $helicone_upstream_url;
            proxy_http_version         1.1;
            proxy_set_header           Connection "";
            proxy_buffering            off;
            proxy_read_timeout         1s;
        }

        location /v1/ {
            helicone_pass gateway;
            helicone_attempt_timeout 10s;
        }

        location /deadline/v1/ {
            helicone_pass gateway;
            helicone_deadline 1500ms;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }

        location /slow/v1/ {
            helicone_pass gateway;
            helicone_attempt_timeout 500ms;
        }

        location /deadline/v1/ {
            helicone_pass gateway;
            helicone_deadline 1s;
        }

        location /one/ {
            helicone_pass one;
        }

        location /target/ {
            helicone_pass target;
            helicone_target_allow http://127.0.0.1:%%PORT_claude%%
                                  http://127.0.0.1:%%PORT_one%%;
        }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');

sub call {
    my (%a) = @_;
    my $path = delete $a{path} // '/v1/chat/completions';
    return $t->chat(port => $gw, path => $path, %a);
}

sub event_of {
    my ($r) = @_;
    return $t->wait_event($r->{headers}{'helicone-id'});
}

# the estimate of a body, as Helicone makes it: a quarter token for each
# character of message text
sub estimate {
    my ($body) = @_;
    my $chars = 0;
    for my $m (@{ $body->{messages} // [] }) {
        $chars += length($m->{content} // '') unless ref $m->{content};
    }
    return int(($chars + 3) / 4);
}

sub last_body {
    my ($mock) = @_;
    my @r = $mock->requests;
    return @r ? $r[-1]{json} : undef;
}

# ------------------------------------------------- token limit: truncate

# gpt-4o-mini has a 128000-token window: an answer of 127,900 tokens
# leaves 100 for the prompt
my $doc = join(' ', ('paragraph') x 300) . ' the end';
my %big = (
    model      => 'gpt-4o-mini/one',
    max_tokens => 127_900,
    messages   => [ { role => 'system', content => 'be brief' },
                    { role => 'user', content => $doc },
                    { role => 'user', content => 'summarise it' } ],
);

$one->clear;
my $r = call(json => \%big,
             headers => [ [ 'Helicone-Token-Limit-Exception-Handler',
                            'truncate' ] ]);
is($r->{status}, 200, 'truncate - answered');
my $up = last_body($one);
ok($up && estimate($up) <= 100,
   'truncate - the provider got a prompt within the limit ('
   . ($up ? estimate($up) : '-') . ' tokens)');
is(scalar @{ $up->{messages} }, 3, 'truncate - no message dropped');
is($up->{messages}[0]{content}, 'be brief', 'truncate - short texts kept');
is($up->{messages}[2]{content}, 'summarise it',
   'truncate - the question kept');
like($up->{messages}[1]{content}, qr/^paragraph paragraph/,
     'truncate - the document keeps its beginning');
is($up->{max_tokens}, 127_900, 'truncate - the rest of the body kept');

my $ev = event_of($r);
my $tl = $ev->{log}{request}{tokenLimit};
is($tl->{strategy}, 'truncate', 'truncate - the event says so');
is($tl->{limit}, 100, 'truncate - the limit in the event');
is($tl->{estimate}, estimate(\%big), 'truncate - the estimate as sent');
ok($tl->{result} <= 100, 'truncate - the estimate as forwarded');
is($tl->{cut}, 1, 'truncate - one text cut');

# the same body without the header goes as it is
$one->clear;
$r = call(json => \%big);
is(estimate(last_body($one)), estimate(\%big), 'no header - body untouched');
ok(!exists event_of($r)->{log}{request}{tokenLimit},
   'no header - no tokenLimit in the event');

# a value outside the three is ignored, as Helicone does
$one->clear;
$r = call(json => \%big,
          headers => [ [ 'Helicone-Token-Limit-Exception-Handler',
                         'shorten' ] ]);
is(estimate(last_body($one)), estimate(\%big), 'unknown value - ignored');

# a body within the limit is not touched, and the event says so
$one->clear;
$r = call(json => { %big, max_tokens => 100 },
          headers => [ [ 'Helicone-Token-Limit-Exception-Handler',
                         'truncate' ] ]);
is(estimate(last_body($one)), estimate(\%big), 'fits - body untouched');
is(event_of($r)->{log}{request}{tokenLimit}{result}, estimate(\%big),
   'fits - the event has the estimate');

# ----------------------------------------------- token limit: middle-out

my @history = ({ role => 'system', content => 'S' });
for my $i (0 .. 9) {
    push @history, { role => $i % 2 ? 'assistant' : 'user',
                     content => "turn $i " . ('x' x 60) };
}
push @history,
    { role => 'assistant', content => undef,
      tool_calls => [ { id => 'call_7', type => 'function',
                        function => { name => 'f', arguments => '{}' } } ] },
    { role => 'tool', tool_call_id => 'call_7', content => 'RESULT ' . ('y' x 60) },
    { role => 'user', content => 'the question' };

$one->clear;
$r = call(json => { model => 'gpt-4o-mini/one', max_tokens => 127_900,
                    messages => \@history },
          headers => [ [ 'Helicone-Token-Limit-Exception-Handler',
                         'Middle-Out' ] ]);
is($r->{status}, 200, 'middle-out - answered');
$up = last_body($one);
my @roles = map { $_->{role} } @{ $up->{messages} };
is($roles[0], 'system', 'middle-out - the system message kept');
is($up->{messages}[-1]{content}, 'the question', 'middle-out - the last kept');
ok(@{ $up->{messages} } < @history, 'middle-out - messages dropped');
my $calls = grep { $_->{tool_calls} } @{ $up->{messages} };
my $results = grep { $_->{role} eq 'tool' } @{ $up->{messages} };
is($calls, $results, 'middle-out - a tool call goes with its result');
ok(estimate($up) <= 100, 'middle-out - within the limit');
$tl = event_of($r)->{log}{request}{tokenLimit};
is($tl->{strategy}, 'middle-out', 'middle-out - the event says so');
ok($tl->{dropped} > 0, 'middle-out - the event counts what was dropped');

# ------------------------------------------------- token limit: fallback

$one->clear;
$two->clear;
$r = call(json => { %big, model => 'gpt-4o-mini/one,gpt-4o/two',
                    max_tokens => 100 },
          headers => [ [ 'Helicone-Token-Limit-Exception-Handler',
                         'fallback' ] ]);
is($r->{status}, 200, 'fallback - fits: answered');
is(scalar(@{ $one->requests }), 1, 'fallback - fits: the first model');
is(scalar(@{ $two->requests }), 0, 'fallback - fits: not the second');

$one->clear;
$r = call(json => { %big, model => 'gpt-4o-mini/one,gpt-4o/two' },
          headers => [ [ 'Helicone-Token-Limit-Exception-Handler',
                         'fallback' ] ]);
is($r->{status}, 200, 'fallback - over: answered');
is(scalar(@{ $one->requests }), 0, 'fallback - over: not the first model');
is(last_body($two)->{model}, 'gpt-4o', 'fallback - over: the second model');
is($r->{headers}{'helicone-provider'}, 'two',
   'fallback - over: the second provider said');
$tl = event_of($r)->{log}{request}{tokenLimit};
is($tl->{model}, 'gpt-4o/two', 'fallback - the event names the choice');
is(last_body($two)->{messages}[1]{content}, $doc,
   'fallback - the body is not cut');

# ---------------------------------------------- token limit and the cache

# the cache key is the body that goes: the answer to a truncated prompt,
# or the second model's, is no answer to the body as the client sent it
my $cache_on = [ 'Helicone-Cache-Enabled', 'true' ];

for my $case ([ 'truncate', 'gpt-4o-mini/one' ],
              [ 'fallback', 'gpt-4o-mini/one,gpt-4o/two' ])
{
    my ($strategy, $model) = @$case;
    my $body = { %big, model => $model,
                 messages => [ @{ $big{messages} }[0, 1],
                               { role => 'user',
                                 content => "cache $strategy" } ] };
    my @asked = ($cache_on, [ 'Helicone-Token-Limit-Exception-Handler',
                              $strategy ]);

    $r = call(json => $body, headers => [ @asked ]);
    is($r->{status}, 200, "cache $strategy - answered");
    ok($t->wait_for(sub {
           $r = call(json => $body, headers => [ @asked ]);
           ($r->{headers}{'helicone-cache'} // '') eq 'HIT' }),
       "cache $strategy - the rewritten request is cached");

    $r = call(json => $body, headers => [ $cache_on ]);
    is($r->{headers}{'helicone-cache'}, 'MISS',
       "cache $strategy - not the answer to the body as sent");
}

# proxy mode: the body that goes is the one rewritten, or names the choice
$one->clear;
$r = call(path => '/one/v1/chat/completions',
          json => { %big, model => 'gpt-4o-mini' },
          headers => [ [ 'Helicone-Token-Limit-Exception-Handler',
                         'truncate' ] ]);
is($r->{status}, 200, 'proxy truncate - answered');
ok(estimate(last_body($one)) <= 100, 'proxy truncate - within the limit');

$one->clear;
$r = call(path => '/one/v1/chat/completions',
          json => { %big, model => 'gpt-4o-mini,gpt-4o' },
          headers => [ [ 'Helicone-Token-Limit-Exception-Handler',
                         'fallback' ] ]);
is($r->{status}, 200, 'proxy fallback - answered');
is(last_body($one)->{model}, 'gpt-4o', 'proxy fallback - the body names '
   . 'the second model');

# ------------------------------------------- Helicone-Stream-Usage (proxy)

my $stream = { model => 'gpt-4o-mini', stream => JSON::PP::true,
               messages => [ { role => 'user', content => 'hi' } ] };

$one->clear;
$r = call(path => '/one/v1/chat/completions', json => $stream,
          headers => [ [ 'Helicone-Stream-Usage', 'true' ] ]);
is($r->{status}, 200, 'stream usage - answered');
ok(last_body($one)->{stream_options}{include_usage},
   'stream usage - usage asked of the provider');
is(scalar(grep { ($_->{data} // '') =~ /"usage":\{/ } @{ $r->{events} }), 0,
   'stream usage - the usage chunk is not relayed');
is($r->{events}[-1]{data}, '[DONE]', 'stream usage - the stream ends');
$ev = event_of($r);
is($ev->{log}{response}{promptTokens}, 11,
   'stream usage - the event has the usage');

# a Helicone-Fallbacks target with a body of its own gets it too
$one->clear;
$r = call(path => '/target/v1/chat/completions', json => $stream,
          headers => [ [ 'Helicone-Stream-Usage', 'true' ],
                       [ 'Helicone-Fallbacks', $JSON->encode([
                           { 'target-url' => 'http://127.0.0.1:'
                                             . $t->port('one'),
                             headers => {}, onCodes => [],
                             bodyKeyOverride => { temperature => 0.5 } }
                         ]) ] ]);
is($r->{status}, 200, 'stream usage, override - answered');
ok(last_body($one)->{stream_options}{include_usage}
   && last_body($one)->{temperature} == 0.5,
   'stream usage, override - usage asked, the override kept');
is(scalar(grep { ($_->{data} // '') =~ /"usage":\{/ } @{ $r->{events} }), 0,
   'stream usage, override - the usage chunk is not relayed');
is(event_of($r)->{log}{response}{promptTokens}, 11,
   'stream usage, override - the event has the usage');

$one->clear;
$r = call(path => '/one/v1/chat/completions', json => $stream);
ok(!exists last_body($one)->{stream_options},
   'no stream usage header - the body as sent');
$ev = event_of($r);
ok(!defined $ev->{log}{response}{promptTokens},
   'no stream usage header - no usage known');

# the Responses API has no stream_options.include_usage (OpenAI refuses
# it): its stream ends with response.completed, usage included
$one->clear;
$r = call(path => '/one/v1/responses',
          json => { model => 'gpt-4o-mini', stream => JSON::PP::true,
                    input => 'hi' },
          headers => [ [ 'Helicone-Stream-Usage', 'true' ] ]);
is($r->{status}, 200, 'stream usage, Responses - answered');
ok(!exists last_body($one)->{stream_options},
   'stream usage, Responses - the body as sent');

# --------------------------------------------- Helicone-Increase-Timeout

my $slow = { model => 'gpt-4o-mini/one',
             messages => [ { role => 'user', content => 'slow' } ] };

$r = call(path => '/slow/v1/chat/completions', json => $slow);
ok($r->{status} >= 500, "increase timeout - without it, 500 ms is too short "
   . "($r->{status})");

$r = call(path => '/slow/v1/chat/completions', json => $slow,
          headers => [ [ 'Helicone-Increase-Timeout', 'true' ] ]);
is($r->{status}, 200, 'increase timeout - with it, the slow answer comes');

# the proxy's own read timeout grows too, for that attempt only
$r = $t->chat(port => $t->port('short'), json => $slow);
ok($r->{status} >= 500, "increase timeout - a 1 s proxy_read_timeout cuts "
   . "it ($r->{status})");

$r = $t->chat(port => $t->port('short'), json => $slow,
              headers => [ [ 'Helicone-Increase-Timeout', 'true' ] ]);
is($r->{status}, 200, 'increase timeout - and grows with the header');

$r = $t->chat(port => $t->port('short'), json => $slow);
ok($r->{status} >= 500, 'increase timeout - the next attempt has 1 s again');

# a deadline passed before the first try starts (the upload outlasted
# it): the try's wait for headers ends at once, header or not
{
    my $body = $JSON->encode($slow);
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw") or die $!;
    $s->autoflush(1);
    print $s "POST /deadline/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/json\r\nConnection: close\r\n"
        . "Helicone-Increase-Timeout: true\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n"
        . substr($body, 0, 10);
    # the stimulus, not a synchronisation: an upload slower than 1 s
    select(undef, undef, undef, 1.3);
    print $s substr($body, 10);
    my $res = do { local $/; <$s> } // '';
    close $s;
    like($res, qr{^HTTP/1\.1 50[24] },
         'increase timeout - not past a deadline that passed already');
}

# a stream's wait between two reads grows only up to helicone_deadline
my $stall = { model => 'gpt-4o-mini/one', stream => JSON::PP::true,
              messages => [ { role => 'user', content => 'stall' } ] };

$r = $t->chat(port => $t->port('short'),
              path => '/deadline/v1/chat/completions', json => $stall,
              headers => [ [ 'Helicone-Increase-Timeout', 'true' ] ]);
is($r->{status}, 200, 'increase timeout - the stream starts');
ok(!grep({ ($_->{data} // '') eq '[DONE]' } @{ $r->{events} // [] }),
   'increase timeout - helicone_deadline still cuts a stalled stream');

# ---------------------------------------------- Helicone-Target-Provider

my $msg = { model => 'claude-3-5-haiku-20241022', max_tokens => 10,
            messages => [ { role => 'user', content => 'hi' } ] };
my $claude_url = 'http://127.0.0.1:' . $t->port('claude') . '/v1/messages';

$r = call(path => '/target/v1/messages', json => $msg,
          headers => [ [ 'Helicone-Target-Url', $claude_url ],
                       [ 'Helicone-Target-Provider', 'anthropic' ] ]);
is($r->{status}, 200, 'target provider - answered');
$ev = event_of($r);
is($ev->{log}{response}{promptTokens}, 20 + 5 + 7,
   'target provider - usage read the Anthropic way')
    or diag($JSON->encode($ev->{log}{response}));
is($ev->{log}{request}{provider}, 'ANTHROPIC',
   'target provider - the event names it');
my @creq = $claude->requests;
ok(!defined $creq[-1]{headers}{'anthropic-version'},
   'target provider - none of the provider\'s own headers go to the target');

$r = call(path => '/target/v1/messages', json => $msg,
          headers => [ [ 'Helicone-Target-Url', $claude_url ] ]);
$ev = event_of($r);
is($ev->{log}{request}{provider}, 'CUSTOM',
   'no target provider - a custom origin');

# a known origin is what it is: the header cannot name a cheaper provider
$r = call(path => '/target/v1/chat/completions',
          json => { model => 'gpt-4o-mini',
                    messages => [ { role => 'user', content => 'hi' } ] },
          headers => [ [ 'Helicone-Target-Url',
                         'http://127.0.0.1:' . $t->port('one') ],
                       [ 'Helicone-Target-Provider', 'groq' ] ]);
$ev = event_of($r);
is($ev->{heliconeMeta}{gatewayProvider} // $ev->{log}{request}{provider},
   'one', 'target provider - a known origin keeps its provider');

# ------------------------------------------ Helicone-Stream-Force-Format

sub pieces_whole {
    my ($r) = @_;
    my @c = map { $_->[1] } @{ $r->{chunks} // [] };
    return (scalar(@c), scalar(grep { !/\n\n\z/ } @c));
}

# proxy mode, usage not asked: the stream is relayed as it comes (gateway
# mode cuts its usage chunk, and so sends whole events anyway)
my $tiny = { model => 'gpt-4o-mini', stream => JSON::PP::true,
             messages => [ { role => 'user', content => 'tiny' } ] };

$r = call(path => '/one/v1/chat/completions', json => $tiny);
my ($n, $split) = pieces_whole($r);
ok($split > 0, "force format - without it, pieces end mid-event "
   . "($split of $n)");

$r = call(path => '/one/v1/chat/completions', json => $tiny,
          headers => [ [ 'Helicone-Stream-Force-Format', 'true' ] ]);
($n, $split) = pieces_whole($r);
is($split, 0, "force format - every piece ends with an event ($n pieces)");
is(scalar(grep { defined $_->{data} } @{ $r->{events} }), 4,
   'force format - every event relayed');
is($r->{events}[-1]{data}, '[DONE]', 'force format - the stream ends');

$t->stop;
$t->check_no_alerts;

done_testing;

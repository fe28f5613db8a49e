#!/usr/bin/perl

# Tests for helicone fallback chains and retries: what fails over, the
# backoff between retries, Retry-After, the deadline, Helicone-Fallbacks,
# client aborts while waiting, and many requests through a failing chain.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Fcntl qw(:flock);
use JSON::PP;
use Test::More;
use Time::HiRes qw(time);

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $dir = $t->dir;

# how many times a case reached this mock before: shared by the forked
# connection handlers through a file
sub count {
    my ($name) = @_;
    open my $fh, '+>>', "$dir/count-$name" or die $!;
    flock $fh, LOCK_EX;
    seek $fh, 0, 0;
    my $n = <$fh> // 0;
    truncate $fh, 0;
    print $fh $n + 1;
    close $fh;
    return $n;
}

sub behaviour {
    my ($who) = @_;

    return sub {
        my ($req) = @_;
        my $case = $req->{headers}{'x-case'} // '';
        my $n = count("$who-$case");

        return undef if $case eq '';
        return { status => 429, json => MockLLM::openai_error(429,
                 "slow down $who", 'rate_limit_error') }
            if $case eq "429-$who";
        return { status => 500, json => MockLLM::openai_error(500,
                 "broken $who", 'server_error') }
            if $case eq "500-$who" || $case eq 'all-fail';
        return { reset => 1 } if $case eq "reset-$who";
        return { stall => 1 } if $case eq "stall-$who";
        return { status => 401, json => MockLLM::openai_error(401,
                 "bad key $who", 'invalid_request_error') }
            if $case eq "401-$who";
        return { sse => [ MockLLM::sse_data(MockLLM::openai_chunk(
                     'm', 'partial', undef)) ], cut => 1 }
            if $case eq "cut-$who";

        if ($case eq "503-twice-$who") {
            return { status => 503, json => MockLLM::openai_error(503,
                     'try again', 'server_error') } if $n < 2;
        }

        if ($case eq "retry-after-$who") {
            return { status => 429, headers => [ [ 'Retry-After', '1' ] ],
                     json => MockLLM::openai_error(429, 'later',
                                                   'rate_limit_error') }
                if $n < 1;
        }

        if ($case eq 'always-503') {
            return { status => 503, json => MockLLM::openai_error(503,
                     'unavailable', 'server_error') };
        }

        return undef;
    };
}

my $one = $t->mock_llm('one', handler => behaviour('one'));
my $two = $t->mock_llm('two', handler => behaviour('two'));
my $closed = $t->port('closed');

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    # kept connections close soon, for the descriptor check after the load
    helicone_upstream * keepalive_timeout=1s;
    helicone_provider one url=http://127.0.0.1:%%PORT_one%% auth=none;
    helicone_provider two url=http://127.0.0.1:%%PORT_two%% auth=none;
    helicone_provider dead url=http://127.0.0.1:%%PORT_closed%% auth=none;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;
    helicone_attempt_timeout 500ms;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }

        location /on401/v1/ {
            helicone_pass gateway;
            helicone_fallback_on 401 403;
        }

        location /chain/v1/ {
            helicone_pass gateway;
            helicone_fallback_models m2/two;
        }

        location /retry/v1/ {
            helicone_pass gateway;
            helicone_retry on num=2 min=100ms max=1s retry_after_max=1500ms;
        }

        location /deadline/v1/ {
            helicone_pass gateway;
            helicone_attempt_timeout 10s;
            helicone_deadline 700ms;
        }

        # the load below: a busy box must not turn its attempts into 504s
        location /load/v1/ {
            helicone_pass gateway;
            helicone_attempt_timeout 30s;
        }

        location /proxy/ {
            rewrite ^/proxy(/.*)$ $1 break;
            helicone_pass one;
            helicone_target_allow http://127.0.0.1:%%PORT_one%%
                                  http://127.0.0.1:%%PORT_two%%;
        }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my $nreq = 0;

sub call {
    my (%a) = @_;
    my $case = delete $a{case};
    my $path = delete $a{path} // '/v1/chat/completions';
    my @h = @{ delete $a{headers} // [] };
    push @h, [ 'X-Case', $case ] if defined $case;
    $nreq++;
    return $t->chat(port => $gw, path => $path, headers => \@h,
                    json => { messages => [ { role => 'user',
                                              content => 'hi' } ],
                              %a });
}

sub event { $t->wait_event($_[0]{headers}{'helicone-id'}) }

# ------------------------------------------------------------- chains

my $r = call(model => 'm1/one,m2/two', case => '429-one');
is($r->{status}, 200, '429 - the next target answers');
is($r->{headers}{'helicone-provider'}, 'two', '429 - served by two');
is($r->{json}{model}, 'm2', '429 - with its model');
my $ev = event($r);
is(scalar @{ $ev->{attempts} }, 2, '429 - two attempts logged');
is($ev->{attempts}[0]{status}, 429, '429 - first attempt status');
is($ev->{attempts}[0]{outcome}, 'failed', '429 - first attempt failed');
is($ev->{attempts}[1]{outcome}, 'ok', '429 - second attempt ok');
is($ev->{heliconeMeta}{gatewayProvider}, 'two', '429 - event provider');
unlike($r->{body}, qr/slow down/, '429 - the failed body is not shown');

for my $case ('500-one', 'reset-one', 'stall-one') {
    $r = call(model => 'm1/one,m2/two', case => $case);
    is($r->{status}, 200, "$case - fails over");
    is($r->{headers}{'helicone-provider'}, 'two', "$case - served by two");
}

$ev = event($r);
is($ev->{attempts}[0]{error}, 'timeout', 'stall - logged as a timeout');
ok($ev->{attempts}[0]{durationMs} >= 450,
   'stall - waited for the attempt timeout');

$r = call(model => 'm1/dead,m2/two');
is($r->{status}, 200, 'connect error - fails over');
$ev = event($r);
is($ev->{attempts}[0]{error}, 'connect', 'connect error - logged');

# a 401 is the client's: shown, unless the location fails over on it
$r = call(model => 'm1/one,m2/two', case => '401-one');
is($r->{status}, 401, '401 - relayed by default');
like($r->{body}, qr/bad key one/, '401 - the provider body');

$r = call(model => 'm1/one,m2/two', case => '401-one',
          path => '/on401/v1/chat/completions');
is($r->{status}, 200, '401 - fails over with helicone_fallback_on');

# once a byte went out, no fail-over: a cut stream stays cut
$r = call(model => 'm1/one,m2/two', case => 'cut-one',
          stream => JSON::PP::true);
is($r->{complete}, 0, 'cut - the client sees the break');
like($r->{body}, qr/partial/, 'cut - what came was relayed');
$ev = event($r);
is(scalar @{ $ev->{attempts} }, 1, 'cut - no second attempt');
is($ev->{truncated}, JSON::PP::true, 'cut - logged truncated');

# all failed: the last provider's own error, or ours listing them all
$r = call(model => 'm1/one,m2/two', case => 'all-fail');
is($r->{status}, 500, 'all fail - the last provider status');
like($r->{body}, qr/broken two/, 'all fail - the last provider body');

$r = call(model => 'm1/dead,m2/dead');
is($r->{status}, 502, 'all unreachable - 502');
is($r->{json}{error}{code}, 'upstream_failed', 'all unreachable - code');
like($r->{json}{error}{message}, qr/dead \(m1\): connect; dead \(m2\)/,
     'all unreachable - each attempt named');

# the location's chain follows a single model
$r = call(model => 'm1/one', case => '500-one',
          path => '/chain/v1/chat/completions');
is($r->{status}, 200, 'default chain - fails over');
is($r->{headers}{'helicone-provider'}, 'two', 'default chain - two');

# ------------------------------------------------------------- retries

$r = call(model => 'm1/one', case => '503-twice-one',
          path => '/retry/v1/chat/completions');
is($r->{status}, 200, 'retry - third call succeeds');
my @calls = grep { ($_->{headers}{'x-case'} // '') eq '503-twice-one' }
            $one->requests;
is(scalar @calls, 3, 'retry - three calls');
my ($g1, $g2) = ($calls[1]{time} - $calls[0]{time},
                 $calls[2]{time} - $calls[1]{time});
ok($g1 >= 0.095, "retry - first backoff >= 100 ms ($g1)");
ok($g2 >= 0.195, "retry - second backoff doubled >= 200 ms ($g2)");
$ev = event($r);
is_deeply([ map { $_->{retry} } @{ $ev->{attempts} } ], [ 0, 1, 2 ],
          'retry - try numbers logged');

# headers turn retries on and set the policy
$r = call(model => 'm1/one', case => '503-twice-two',
          headers => [ [ 'Helicone-Retry-Enabled', 'true' ],
                       [ 'Helicone-Retry-Num', '1' ],
                       [ 'Helicone-Retry-Min-Timeout', '50' ] ]);
is($r->{status}, 200, 'retry headers - no failure at one');

$r = call(model => 'm2/two', case => '503-twice-two',
          headers => [ [ 'Helicone-Retry-Enabled', 'true' ],
                       [ 'Helicone-Retry-Num', '1' ],
                       [ 'Helicone-Retry-Min-Timeout', '50' ] ]);
is($r->{status}, 503, 'retry headers - Num 1: two calls, then the error');
@calls = grep { ($_->{headers}{'x-case'} // '') eq '503-twice-two' }
         $two->requests;
is(scalar @calls, 2, 'retry headers - exactly two calls');

# Retry-After beats a shorter backoff, up to the location's cap
$r = call(model => 'm1/one', case => 'retry-after-one',
          path => '/retry/v1/chat/completions');
is($r->{status}, 200, 'Retry-After - then served');
@calls = grep { ($_->{headers}{'x-case'} // '') eq 'retry-after-one' }
         $one->requests;
ok($calls[1]{time} - $calls[0]{time} >= 0.95,
   'Retry-After - waited the second asked');

# ------------------------------------------------------------- deadline

my $t0 = time;
$r = call(model => 'm1/one,m2/one', case => 'stall-one',
          path => '/deadline/v1/chat/completions');
my $took = time - $t0;
ok($r->{status} == 502 || $r->{status} == 504, 'deadline - an error');
ok($took < 3, "deadline - bounded ($took s)");
$ev = event($r);
is(scalar @{ $ev->{attempts} }, 1, 'deadline - no second attempt after it');

# ------------------------------------------------------------- abort

my $before = scalar @{ $t->read_jsonl('helicone.jsonl') };
my $n1 = grep { ($_->{headers}{'x-case'} // '') eq 'always-503' }
         $one->requests;
$t0 = time;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gw") or die $!;
my $body = encode_json({ model => 'm1/one', messages => [] });
print $s "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
       . "Content-Type: application/json\r\nX-Case: always-503\r\n"
       . "Helicone-Retry-Enabled: true\r\nHelicone-Retry-Min-Timeout: 5000\r\n"
       . "Content-Length: " . length($body) . "\r\n\r\n$body";
$nreq++;

ok($t->wait_for(sub {
       grep { ($_->{headers}{'x-case'} // '') eq 'always-503' }
       $one->requests }), 'abort - the first try happened');
close $s;

my @after = $t->wait_jsonl('helicone.jsonl', $before + 1, timeout => 3);
ok(time - $t0 < 3, 'abort - logged without waiting out the backoff');
is($after[-1]{aborted}, JSON::PP::true, 'abort - logged as aborted');
is(scalar(grep { ($_->{headers}{'x-case'} // '') eq 'always-503' }
           $one->requests), $n1 + 1, 'abort - no retry after the client left');

# ------------------------------------------------------------- Helicone-Fallbacks

my $fb = encode_json([
    { 'target-url' => "http://127.0.0.1:" . $one->port . "/ignored",
      headers => { 'X-Case' => '429-one', 'Authorization' => 'Bearer k1' },
      onCodes => [ 429, { from => 500, to => 599 } ] },
    { 'target-url' => "http://127.0.0.1:" . $two->port,
      headers => { 'Authorization' => 'Bearer k2',
                   'Content-Type' => 'application/json' },
      onCodes => [],
      bodyKeyOverride => { model => 'override-model', max_tokens => 7 } },
]);

$r = $t->chat(port => $gw, path => '/proxy/v1/chat/completions?x=1',
              headers => [ [ 'Helicone-Fallbacks', $fb ],
                           [ 'Authorization', 'Bearer client' ] ],
              json => { model => 'orig', messages => [] });
$nreq++;
is($r->{status}, 200, 'Helicone-Fallbacks - served');
is($r->{headers}{'helicone-fallback-index'}, 1,
   'Helicone-Fallbacks - index of the item used');
my ($last) = (grep { ($_->{headers}{authorization} // '') eq 'Bearer k2' }
              $two->requests)[-1];
ok($last, 'Helicone-Fallbacks - second item got its headers');
is($last->{path}, '/v1/chat/completions?x=1',
   'Helicone-Fallbacks - origin of target-url, incoming path');
is($last->{json}{model}, 'override-model', 'bodyKeyOverride - replaced');
is($last->{json}{max_tokens}, 7, 'bodyKeyOverride - added');
ok(!exists $last->{headers}{'x-case'}, 'Helicone-Fallbacks - exactly its headers');

$r = $t->chat(port => $gw, path => '/proxy/v1/chat/completions',
              headers => [ [ 'Helicone-Fallbacks', '[{"target-url":1}]' ] ],
              json => { model => 'orig' });
$nreq++;
is($r->{status}, 400, 'Helicone-Fallbacks - malformed is a 400');
is($r->{json}{error}{code}, 'invalid_fallbacks',
   'Helicone-Fallbacks - says so');

$r = $t->chat(port => $gw, path => '/proxy/v1/chat/completions',
              headers => [ [ 'Helicone-Fallbacks', encode_json([
                  { 'target-url' => 'http://169.254.169.254',
                    headers => {}, onCodes => [] } ]) ] ],
              json => { model => 'orig' });
$nreq++;
is($r->{status}, 400, 'Helicone-Fallbacks - a target off the allowlist');
is($r->{json}{error}{code}, 'target_not_allowed', 'allowlist - code');

# ------------------------------------------------------------- load

my ($worker) = $t->worker_pids;
my $fds = sub { my @f = glob("/proc/$worker/fd/*"); scalar @f };
my $base = $fds->();

my @kids;
for my $i (1 .. 100) {
    my $pid = fork // die $!;
    if ($pid == 0) {
        my $res = $t->chat(port => $gw, headers => [ [ 'X-Case', '500-one' ] ],
                           path => '/load/v1/chat/completions', timeout => 60,
                           json => { model => 'm1/one,m2/two',
                                     messages => [] });
        POSIX::_exit($res->{status} == 200 ? 0 : 1);
    }
    push @kids, $pid;
}

my $bad = 0;
for (@kids) { waitpid($_, 0); $bad++ if $? }
$nreq += 100;

is($bad, 0, 'load - 100 concurrent requests through a failing chain');
ok($t->wait_for(sub { $fds->() <= $base }, timeout => 10),
   'load - worker descriptors back to where they were');

my @all = $t->wait_jsonl('helicone.jsonl', $nreq, timeout => 10);
is(scalar @all, $nreq, 'one log line per request');

$t->stop;
$t->check_no_alerts;

done_testing;

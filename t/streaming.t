#!/usr/bin/perl

# Tests for helicone streaming in gateway mode: SSE relayed event by event
# without buffering, time to first token, a client that goes away, a
# provider that dies mid-stream, and several streams at once.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use IO::Select;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time);

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $dir = $t->dir;
my $model = 'gpt-4o-mini';

sub chunk_ev {
    my ($text) = @_;
    return MockLLM::sse_data(MockLLM::openai_chunk($model, $text));
}

my $done_ev = "data: [DONE]\n\n";

# the scenario is the first message's content: "name" or "name:argument"
my %scenario = (

    # three events 250, 400 and 400 ms apart, then the end
    paced => sub {
        return { sse => [ { delay_ms => 250, data => chunk_ev('one') },
                          { delay_ms => 400, data => chunk_ev('two') },
                          { delay_ms => 400, data => chunk_ev('three') },
                          { delay_ms => 0, data => $done_ev } ] };
    },

    # a long slow stream; its connection process writes down its pid
    long => sub {
        my ($req, $arg) = @_;

        open my $fh, '>', "$dir/long-$arg.pid" or die "$!\n";
        printf $fh "%d %.3f\n", $$, time;
        close $fh;

        return { sse => [ map { { delay_ms => 200, data => chunk_ev("w$_") } }
                          1 .. 40 ] };
    },

    # two events, then the connection ends without the final chunk
    cut => sub {
        my ($req, $arg) = @_;
        return { sse => [ chunk_ev('a'), chunk_ev('b') ],
                 cut => $arg eq 'reset' ? 'reset' : 1 };
    },

    # nothing for 3 s, then a slow stream
    late => sub {
        return { sse => [ { delay_ms => 3000, data => chunk_ev('late') },
                          map { { delay_ms => 100, data => chunk_ev($_) } }
                          1 .. 10 ] };
    },

    # a JSON body that is shorter than its Content-Length says
    short => sub {
        my $body = HgTest::json_encode(
                       MockLLM::openai_completion($model, 'Hello from mock'));
        return { raw => "HTTP/1.1 200 OK\r\n"
                        . "Content-Type: application/json\r\n"
                        . "Content-Length: " . (length($body) + 100) . "\r\n"
                        . "Connection: close\r\n\r\n" . $body };
    },

    # a stream without framing: it ends when the connection closes
    eof => sub {
        my ($req, $arg) = @_;
        return { raw => "HTTP/1.0 200 OK\r\n"
                        . "Content-Type: text/event-stream\r\n"
                        . "Cache-Control: no-cache\r\n\r\n"
                        . chunk_ev('x') . chunk_ev('y')
                        . ($arg eq 'done' ? $done_ev : '') };
    },

    # a stream without framing, its end spelled in other ways
    eof_variant => sub {
        my ($req, $arg) = @_;
        my %end = (
            split   => [ "data: [DO", "NE]\n\n" ],
            crlf    => [ "data: [DONE]\r\n\r\n" ],
            nospace => [ "data:[DONE]\n\n" ],
            comment => [ ": keep-alive\n\n", $done_ev ],
            huge    => [ chunk_ev('z' x 100_000), $done_ev ],
        );
        return { chunked => 0,
                 sse => [ map { { delay_ms => 30, data => $_ } }
                          chunk_ev('x'), @{ $end{$arg} } ] };
    },

    # a keep-alive comment at once, the first event 800 ms later
    pinged => sub {
        return { sse => [ { delay_ms => 0, data => ": ping\n\n" },
                          { delay_ms => 800, data => chunk_ev('late') },
                          { delay_ms => 0, data => $done_ev } ] };
    },

    # the last event without its blank line, the stream then complete:
    # "whole" in one piece, else paced
    noblank => sub {
        my ($req, $arg) = @_;
        my @ev = (chunk_ev('m'), chunk_ev('n'), "data: [DONE]\n");
        return { sse => [ map { { delay_ms => $arg eq 'whole' ? 0 : 50,
                                  data => $_ } } @ev ] };
    },

    # a whole stream with a Content-Length, in one write: the gateway reads
    # it in one piece and sends it with the end of its chunked response
    whole => sub {
        my $body = chunk_ev('p') . chunk_ev('q') . chunk_ev('r') . $done_ev;
        return { raw => "HTTP/1.1 200 OK\r\n"
                        . "Content-Type: text/event-stream\r\n"
                        . "Content-Length: " . length($body) . "\r\n"
                        . "Connection: close\r\n\r\n" . $body };
    },

    # 200 events and the usage chunk the gateway asked for, 45 KB written
    # in pieces of 997 bytes that cut events anywhere, a few ms apart
    many => sub {
        my ($req) = @_;
        my $usage = MockLLM::sse_data({
            id => 'chatcmpl-mock', object => 'chat.completion.chunk',
            created => 1700000000, model => $model, choices => [],
            usage => { prompt_tokens => 21, completion_tokens => 200,
                       total_tokens => 221 } });
        my $all = join('', map { chunk_ev("e$_;" . ('x' x ($_ % 97))) }
                           1 .. 200)
                  . ($req->{json}{stream_options} ? $usage : '') . $done_ev;
        my @pieces = unpack('(a997)*', $all);
        return { sse => [ map { { delay_ms => $_ % 8 ? 0 : 3,
                                  data => $pieces[$_] } } 0 .. $#pieces ] };
    },

    # concurrent streams: five events 150 ms apart, tagged with the stream
    tagged => sub {
        my ($req, $arg) = @_;
        return { sse => [ (map { { delay_ms => 150,
                                   data => chunk_ev("$arg.$_;") } } 1 .. 5),
                          { data => $done_ev } ] };
    },
);

my $openai = $t->mock_llm('openai', handler => sub {
    my ($req) = @_;
    my $c = $req->{json}{messages}[0]{content} // '';
    my ($name, $arg) = split /:/, $c, 2;
    my $s = $scenario{$name} or return undef;
    return $s->($req, $arg // '');
});

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_auth off;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    log_format ttft '$helicone_request_id $helicone_ttft';

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            access_log %%DIR%%/ttft.log ttft;
        }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my $nreq = 0;

sub stream {
    my (%a) = @_;
    my $scenario = delete $a{scenario};

    $nreq++;

    return $t->chat(
        port => $gw,
        json => { model => $model, stream => JSON::PP::true,
                  messages => [ { role => 'user', content => $scenario } ] },
        %a,
    );
}

# the arrival time (since the request was sent) of each complete SSE event
sub event_arrivals {
    my ($r) = @_;
    my ($text, @at) = ('');

    for my $c (@{ $r->{chunks} }) {
        $text .= $c->[1];
        my $n = () = $text =~ /\n\n/g;
        push @at, $c->[0] while @at < $n;
    }

    return @at;
}

sub event_by_id {
    my ($id, %opt) = @_;
    my $found;

    $t->wait_for(sub {
        ($found) = grep { $_->{id} eq $id } $t->read_jsonl('helicone.jsonl');
        $found;
    }, timeout => $opt{timeout} // 5);

    return $found // {};
}

sub content {
    my ($r) = @_;
    return join '', map { $_->{json} ? $_->{json}{choices}[0]{delta}{content}
                                       // '' : '' } @{ $r->{events} // [] };
}

# ------------------------------------------------------------ unbuffered

my $r = stream(scenario => 'paced');

is($r->{status}, 200, 'stream - status');
is($r->{complete}, 1, 'stream - complete');
is(content($r), 'onetwothree', 'stream - content relayed');
is($r->{events}[-1]{data}, '[DONE]', 'stream - ends with [DONE]');

my @at = event_arrivals($r);
is(scalar @at, 4, 'stream - four events');

# the mock sends event k at (its request time) + the delays up to k
my ($preq) = grep { ($_->{json}{messages}[0]{content} // '') eq 'paced' }
             $openai->wait_requests(1);
my @sent_earliest = map { $preq->{time} + $_ } 0.25, 0.65, 1.05;
my $t0 = $r->{t0};

ok($t0 + $at[0] < $sent_earliest[1],
   'stream - first event arrives before the second is sent')
    or diag(sprintf "arrived %.3f, second sent at %.3f",
                    $t0 + $at[0], $sent_earliest[1]);
ok($t0 + $at[1] < $sent_earliest[2],
   'stream - second event arrives before the third is sent')
    or diag(sprintf "arrived %.3f, third sent at %.3f",
                    $t0 + $at[1], $sent_earliest[2]);
ok($at[1] - $at[0] >= 0.3, 'stream - first and second events apart')
    or diag("arrivals @at");
ok($at[2] - $at[1] >= 0.3, 'stream - second and third events apart')
    or diag("arrivals @at");
ok($at[0] >= 0.2 && $at[0] < 0.6, 'stream - first event after ~250 ms')
    or diag("arrivals @at");

my $ev = event_by_id($r->{headers}{'helicone-id'} // '');
my $ttft = $ev->{log}{response}{timeToFirstToken};

ok(defined $ttft && $ttft >= 240 && $ttft < 600,
   'stream event - time to first token ~250 ms')
    or diag('ttft ' . ($ttft // 'undef'));
ok(($ev->{log}{response}{delayMs} // 0) >= 1000,
   'stream event - delay covers the whole stream');
ok(($ev->{log}{response}{delayMs} // 0) >= ($ttft // 1e9),
   'stream event - delay not below time to first token');
is($ev->{log}{request}{isStream}, JSON::PP::true, 'stream event - stream');
is($ev->{log}{response}{status}, 200, 'stream event - status');
is($ev->{truncated}, JSON::PP::false, 'stream event - not truncated');
is($ev->{aborted}, JSON::PP::false, 'stream event - not aborted');
is($ev->{attempts}[0]{outcome}, 'ok', 'stream event - attempt ok');
ok(defined $ev->{attempts}[0]{ttfbMs}, 'stream event - attempt ttfb');
is($ev->{log}{response}{promptTokens}, undef,
   'stream event - no usage asked: prompt tokens null');
like($ev->{log}{response}{body} // '', qr/"three".*\[DONE\]/s,
     'stream event - body is the event text');

my $line = $t->wait_for(sub {
    my $log = $t->read_file('ttft.log') // '';
    $log =~ /^\Q$ev->{id}\E (\S+)$/m ? $1 : undef;
});
is($line, $ttft, 'stream - $helicone_ttft as in the event');

# ------------------------------------------------------ client goes away

my $nev = () = $t->read_jsonl('helicone.jsonl');

$r = stream(scenario => 'long:abort', abort_after_bytes => 1);
my $closed_at = time;

ok($r->{aborted}, 'abort - client closed mid-stream');
ok(length $r->{body} < 300, 'abort - only the start was received');

my @evs = $t->wait_jsonl('helicone.jsonl', $nev + 1, timeout => 3);
my $logged_at = time;
$ev = $evs[$nev] // {};

ok(@evs == $nev + 1 && $logged_at - $closed_at < 2.5,
   'abort - event logged promptly');
is($ev->{id}, $r->{headers}{'helicone-id'}, 'abort - event id');
is($ev->{aborted}, JSON::PP::true, 'abort - event aborted');
is($ev->{truncated}, JSON::PP::false, 'abort - event not truncated');
is($ev->{log}{response}{status}, -3, 'abort - status -3');
is($ev->{log}{response}{httpStatus}, 200, 'abort - http status 200');
is($ev->{attempts}[0]{outcome}, 'aborted', 'abort - attempt aborted');

# the provider's connection process exits once its writes fail, long
# before the 8 s its stream would take
my $pidline = $t->wait_for(sub { $t->read_file('long-abort.pid') });
my ($mpid, $mstart) = split ' ', $pidline // '0 0';

sub gone {
    my ($pid) = @_;
    my $stat = $t->read_file("/proc/$pid/stat") // return 1;
    return $stat =~ /\)\s+[ZX]\s/;
}

my $gone = $mpid && $t->wait_for(sub { gone($mpid) }, timeout => 4);

ok($gone, 'abort - upstream connection closed, provider stops sending')
    or diag(sprintf "provider still sending %.1f s after the request",
                    time - $mstart);

# ------------------------------------- client goes away before a byte

$nev = () = $t->read_jsonl('helicone.jsonl');

$r = stream(scenario => 'late', timeout => 0.5);
$closed_at = time;

ok($r->{timed_out}, 'early abort - client gave up before the first byte');

@evs = $t->wait_jsonl('helicone.jsonl', $nev + 1, timeout => 3);
$ev = $evs[$nev] // {};

ok(@evs == $nev + 1 && time - $closed_at < 1.5,
   'early abort - event logged before the provider answered');
is($ev->{aborted}, JSON::PP::true, 'early abort - event aborted');
is($ev->{log}{response}{status}, -3, 'early abort - status -3');
is($ev->{attempts}[0]{outcome}, 'aborted', 'early abort - attempt aborted');
ok(!defined $ev->{log}{response}{timeToFirstToken},
   'early abort - no time to first token');

# --------------------------------------------------- provider dies mid-way

for my $how ('close', 'reset') {
    $r = stream(scenario => "cut:$how");

    is($r->{status}, 200, "cut $how - status");
    is($r->{complete}, 0, "cut $how - client response not completed");
    ok($r->{closed}, "cut $how - client connection closed");
    like($r->{body}, qr/"b"/, "cut $how - events before the cut relayed");
    unlike($r->{body}, qr/\[DONE\]/, "cut $how - no [DONE] invented");

    $ev = event_by_id($r->{headers}{'helicone-id'} // '');
    is($ev->{truncated}, JSON::PP::true, "cut $how - event truncated");
    is($ev->{aborted}, JSON::PP::false, "cut $how - event not aborted");
    is($ev->{log}{response}{status}, -100, "cut $how - status -100");
    is($ev->{attempts}[0]{outcome}, 'truncated',
       "cut $how - attempt truncated");
}

# ------------------------------------- a Content-Length body cut short

$nreq++;
$r = $t->chat(port => $gw,
              json => { model => $model,
                        messages => [ { role => 'user',
                                        content => 'short' } ] });

is($r->{status}, 200, 'short body - status');
is($r->{complete}, 0, 'short body - client response not completed');

$ev = event_by_id($r->{headers}{'helicone-id'} // '');
is($ev->{truncated}, JSON::PP::true, 'short body - event truncated');
is($ev->{log}{response}{status}, -100, 'short body - status -100');
is($ev->{attempts}[0]{outcome}, 'truncated', 'short body - attempt truncated');

# ------------------------------------ a stream that ends on a close

$r = stream(scenario => 'eof:none');

is($r->{status}, 200, 'close-delimited - status');
like($r->{body}, qr/"y"/, 'close-delimited - events relayed');
is($r->{complete}, 0, 'close-delimited, no [DONE] - client not completed');
unlike($r->{body}, qr/\[DONE\]/, 'close-delimited - no [DONE] invented');

$ev = event_by_id($r->{headers}{'helicone-id'} // '');
is($ev->{truncated}, JSON::PP::true,
   'close-delimited, no [DONE] - event truncated');
is($ev->{log}{response}{status}, -100,
   'close-delimited, no [DONE] - status -100');

$r = stream(scenario => 'eof:done');

is($r->{status}, 200, 'close-delimited, [DONE] - status');
is($r->{complete}, 1, 'close-delimited, [DONE] - client response complete');
is($r->{events}[-1]{data}, '[DONE]', 'close-delimited, [DONE] - relayed');

$ev = event_by_id($r->{headers}{'helicone-id'} // '');
is($ev->{truncated}, JSON::PP::false,
   'close-delimited, [DONE] - event not truncated');
is($ev->{log}{response}{status}, 200, 'close-delimited, [DONE] - status');
is($ev->{attempts}[0]{outcome}, 'ok', 'close-delimited, [DONE] - attempt ok');

for my $how (qw(split crlf nospace comment huge)) {
    $r = stream(scenario => "eof_variant:$how");

    is($r->{complete}, 1, "close-delimited, [DONE] $how - client complete");

    $ev = event_by_id($r->{headers}{'helicone-id'} // '');
    is($ev->{truncated}, JSON::PP::false,
       "close-delimited, [DONE] $how - event not truncated");
}

is(length $r->{body}, length($done_ev) + length(chunk_ev('x'))
                      + length(chunk_ev('z' x 100_000)),
   'close-delimited, huge event - relayed whole');

# ------------------------------- a whole stream that came in one piece

$r = stream(scenario => 'whole');

is($r->{status}, 200, 'one piece - status');
is($r->{complete}, 1, 'one piece - client response complete');
is($r->{headers}{'transfer-encoding'}, 'chunked', 'one piece - chunked');
is($r->{body}, chunk_ev('p') . chunk_ev('q') . chunk_ev('r') . $done_ev,
   'one piece - every event relayed, nothing added');

$ev = event_by_id($r->{headers}{'helicone-id'} // '');
is($ev->{truncated}, JSON::PP::false, 'one piece - event not truncated');
is($ev->{attempts}[0]{outcome}, 'ok', 'one piece - attempt ok');
is($ev->{log}{response}{body}, $r->{body}, 'one piece - logged as relayed');

# ------------------------------------------ a keep-alive before any event

# the gateway asked for usage itself (it cuts that chunk): a comment is no
# event and goes out as it comes, so a client's read timeout sees it
$r = stream(scenario => 'pinged');
is($r->{body}, ": ping\n\n" . chunk_ev('late') . $done_ev,
   'keep-alive - relayed with the stream');
my ($ping_at) = map { $_->[0] } grep { $_->[1] =~ /: ping/ } @{ $r->{chunks} };
my ($preq2) = grep { ($_->{json}{messages}[0]{content} // '') eq 'pinged' }
              $openai->wait_requests(1);
ok(defined $ping_at && $r->{t0} + $ping_at < $preq2->{time} + 0.8,
   'keep-alive - reaches the client before the first event is sent')
    or diag(sprintf "ping at %.3f s, event sent at %.3f s after the request",
                    $ping_at // -1, $preq2->{time} + 0.8 - $r->{t0});

# -------------------------- a last event without its closing blank line

# the gateway cuts only complete events (its own usage chunk): an unfinished
# last one is the provider's, and reaches the client as it was sent
for my $arg ('whole', 'paced') {
    $r = stream(scenario => "noblank:$arg");

    is($r->{status}, 200, "no blank line, $arg - status");
    is($r->{body}, chunk_ev('m') . chunk_ev('n') . "data: [DONE]\n",
       "no blank line, $arg - every byte relayed, the last line too");
}

# ------------------------------------ a long stream, its usage chunk cut

# the bytes the client gets are the provider's but for the usage chunk
# the gateway asked for, wherever the reads cut them; the log keeps them
$r = stream(scenario => 'many');

my $many = join('', map { chunk_ev("e$_;" . ('x' x ($_ % 97))) } 1 .. 200)
           . $done_ev;

is($r->{status}, 200, 'long stream - status');
ok($r->{body} eq $many, 'long stream - every event relayed, usage cut')
    or diag(sprintf "got %d bytes, expected %d", length $r->{body},
                    length $many);

$ev = event_by_id($r->{headers}{'helicone-id'} // '');
ok(($ev->{log}{response}{body} // '') eq $many,
   'long stream - logged as relayed')
    or diag(sprintf "logged %d bytes: %s", length($ev->{log}{response}{body}
                                                  // ''),
                    substr($ev->{log}{response}{body} // '', -200));
is($ev->{log}{response}{promptTokens}, 21, 'long stream - usage read');
is($ev->{truncated}, JSON::PP::false, 'long stream - not truncated');

# ------------------------------------------------- five streams at once

my $N = 5;
my (@sock, @res);
my $sel = IO::Select->new;
my $start = time;

for my $i (1 .. $N) {
    my $body = HgTest::json_encode({
        model => $model, stream => JSON::PP::true,
        messages => [ { role => 'user', content => "tagged:s$i" } ] });

    my $s = $t->http_connect($gw) or die "connect: $!\n";

    $s->blocking(1);
    print $s "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             . "Content-Type: application/json\r\n"
             . "Content-Length: " . length($body) . "\r\n"
             . "Connection: close\r\n\r\n$body";
    $s->blocking(0);

    $res[$i] = HgTest::Response->new(method => 'POST');
    $res[$i]{t0} = time;
    $sock[$i] = $s;
    $sel->add($s);
    $nreq++;
}

my %index = map { (fileno $sock[$_]) => $_ } 1 .. $N;
my $deadline = time + 8;

while ($sel->count && time < $deadline) {
    for my $s ($sel->can_read($deadline - time)) {
        my $i = $index{ fileno $s };
        my $n = sysread $s, my $buf, 65536;

        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            $n = 0;
        }

        if ($n == 0) {
            $res[$i]->eof;
            $sel->remove($s);
            close $s;
            next;
        }

        $res[$i]->feed($buf, time);
    }
}

my $took = time - $start;
my @ids;

for my $i (1 .. $N) {
    my $x = $res[$i]->result;
    my @e = HgTest::sse_events($x->{body});
    my $text = join '', map { $_->{json}
                              ? $_->{json}{choices}[0]{delta}{content}
                              : '' } @e;

    is($x->{complete}, 1, "concurrent $i - complete");
    is($text, join('', map { "s$i.$_;" } 1 .. 5),
       "concurrent $i - its own events, in order");
    is($e[-1]{data}, '[DONE]', "concurrent $i - ends with [DONE]");
    push @ids, $x->{headers}{'helicone-id'} // '';
}

# one stream alone takes 750 ms
ok($took < 2.5, 'concurrent - streams ran side by side')
    or diag("took $took s");

# every stream's first event came before any stream's last one
my @first = map { $res[$_]{chunks}[0][0] + $res[$_]{t0} } 1 .. $N;
my @last = map { $res[$_]{chunks}[-1][0] + $res[$_]{t0} } 1 .. $N;
my ($max_first) = sort { $b <=> $a } @first;
my ($min_last) = sort { $a <=> $b } @last;
ok($max_first < $min_last, 'concurrent - streams interleaved');

for my $i (1 .. $N) {
    $ev = event_by_id($ids[$i - 1]);
    is($ev->{truncated}, JSON::PP::false, "concurrent $i - event complete");
}

my %uniq = map { $_ => 1 } @ids;
is(scalar keys %uniq, $N, 'concurrent - distinct ids');

$t->stop;

my @all = $t->read_jsonl('helicone.jsonl');
is(scalar @all, $nreq, 'one event per request');

$t->check_no_alerts;

done_testing;

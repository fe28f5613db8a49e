package HgRatelimitTests;

# Rate limits' behaviour, the same on every store: t/ratelimit.t runs it
# on shared memory, t/ratelimit_redis.t on Redis.

use strict;
use warnings;

use POSIX ();
use Test::More;

use MockLLM;

# $t: an HgTest not yet running; $store: the helicone_store line.
sub run {
    my ($t, $store) = @_;

    my $openai = $t->mock_llm('openai');

    my $conf = <<~'EOF2';
    http {
        %%HTTP_HEAD%%
        helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
        helicone_auth off;
        %%STORE%%
        helicone_log file path=%%DIR%%/helicone.jsonl;

        server {
            listen 127.0.0.1:%%PORT_gw%%;
            include %%ATTEMPT_CONF%%;

            location /v1/ {
                helicone_pass gateway;
            }

            location /three/v1/ {
                helicone_pass gateway;
                helicone_ratelimit "3;w=60";
            }

            location /many/v1/ {
                helicone_pass gateway;
                helicone_ratelimit "5;w=3600";
            }

            location /rlr/v1/ {
                helicone_pass gateway;
                helicone_ratelimit "5;w=3600;s=user";
            }

            location /cents/v1/ {
                helicone_pass gateway;
                helicone_ratelimit "0.0005;w=3600;u=cents";
            }
        }
    }
    EOF2

    $conf =~ s/%%STORE%%/$store/;
    $t->write_config($t->conf_head . $conf);
    $t->run;

    my $gw = $t->port('gw');

    my $call = sub {
        my ($path, @h) = @_;
        return $t->chat(port => $gw, path => $path, headers => \@h,
                        json => { model => 'gpt-4o-mini',
                                  messages => [ { role => 'user',
                                                  content => 'hi' } ] });
    };

    # ------------------------------------------------------------- requests

    my @st = map { $call->('/three/v1/chat/completions')->{status} } 1 .. 3;
    is_deeply(\@st, [ 200, 200, 200 ], 'request policy - the quota passes');

    my $calls = scalar @{ $openai->requests };
    my $r = $call->('/three/v1/chat/completions');
    is($r->{status}, 429, 'request policy - then 429');
    is($r->{headers}{'x-helicone-error'}, 'rate_limited', '429 - X-Helicone-Error');
    is($r->{headers}{'helicone-ratelimit-limit'}, '3', '429 - limit');
    is($r->{headers}{'helicone-ratelimit-remaining'}, '0', '429 - remaining');
    is($r->{headers}{'helicone-ratelimit-policy'}, '3;w=60', '429 - policy');
    # a token comes back every 20 s: that is when to retry, not the 60 s
    # until the bucket is full again (Helicone-RateLimit-Reset)
    ok($r->{headers}{'retry-after'} > 0 && $r->{headers}{'retry-after'} <= 20,
       '429 - Retry-After: until one request would pass')
        or diag("Retry-After: $r->{headers}{'retry-after'}");
    ok($r->{headers}{'helicone-ratelimit-reset'} > 20,
       '429 - Reset: until the bucket is full');
    like($r->{json}{message} // $r->{json}{error}{message},
         qr/rate limit via Helicone-RateLimit-Policy/, '429 - body');
    is($r->{json}{error}{code}, 'rate_limited', '429 - OpenAI error code');
    is(scalar @{ $openai->requests }, $calls, '429 - the provider not asked');

    my @ev = $t->wait_jsonl('helicone.jsonl', 4);
    is($ev[-1]{log}{response}{status}, 429, '429 - logged');
    is($ev[-1]{log}{request}{properties}{'Helicone-Rate-Limit-Status'},
       'bucket_rate_limited', '429 - marked in properties');

    # the headers on an allowed response
    $r = $call->('/v1/chat/completions',
              [ 'Helicone-RateLimit-Policy', '10;w=60;s=user' ],
              [ 'Helicone-User-Id', 'alice' ]);
    is($r->{status}, 200, 'header policy - allowed');
    is($r->{headers}{'helicone-ratelimit-remaining'}, '9',
       'header policy - one taken');
    is($r->{headers}{'helicone-ratelimit-policy'}, '10;w=60;s=user',
       'header policy - echoed');

    # per user: separate buckets; no user: the policy does not apply
    for (1 .. 2) {
        $call->('/v1/chat/completions', [ 'Helicone-RateLimit-Policy', '2;w=60;s=user' ],
             [ 'Helicone-User-Id', 'bob' ]);
    }
    $r = $call->('/v1/chat/completions', [ 'Helicone-RateLimit-Policy', '2;w=60;s=user' ],
              [ 'Helicone-User-Id', 'bob' ]);
    is($r->{status}, 429, 'per user - bob limited');
    $r = $call->('/v1/chat/completions', [ 'Helicone-RateLimit-Policy', '2;w=60;s=user' ],
              [ 'Helicone-User-Id', 'carol' ]);
    is($r->{status}, 200, 'per user - carol not');
    $r = $call->('/v1/chat/completions', [ 'Helicone-RateLimit-Policy', '2;w=60;s=user' ]);
    is($r->{status}, 200, 'per user - no user id: not applied');
    ok(!exists $r->{headers}{'helicone-ratelimit-limit'},
       'per user - and not reported');

    # per property
    for (1 .. 2) {
        $call->('/v1/chat/completions', [ 'Helicone-RateLimit-Policy', '2;w=60;s=team' ],
             [ 'Helicone-Property-Team', 'red' ]);
    }
    $r = $call->('/v1/chat/completions', [ 'Helicone-RateLimit-Policy', '2;w=60;s=team' ],
              [ 'Helicone-Property-Team', 'red' ]);
    is($r->{status}, 429, 'per property - red limited');
    $r = $call->('/v1/chat/completions', [ 'Helicone-RateLimit-Policy', '2;w=60;s=team' ],
              [ 'Helicone-Property-Team', 'blue' ]);
    is($r->{status}, 200, 'per property - blue not');

    $r = $call->('/v1/chat/completions', [ 'Helicone-RateLimit-Policy', 'garbage' ]);
    is($r->{status}, 200, 'malformed policy - fails open');

    # --------------------------------------- a client's policy only adds

    # the operator's 5 per user: a client's generous policy neither shares
    # nor refills that bucket
    my @dave = ([ 'Helicone-User-Id', 'dave' ]);
    @st = map { $call->('/rlr/v1/chat/completions', @dave)->{status} } 1 .. 5;
    is_deeply(\@st, [ (200) x 5 ], 'operator policy - the quota passes');
    is($call->('/rlr/v1/chat/completions', @dave)->{status}, 429,
       'operator policy - then 429');
    my %got;
    $got{ $call->('/rlr/v1/chat/completions', @dave,
                  [ 'Helicone-RateLimit-Policy', '999999999999;w=3600;s=user' ])
          ->{status} }++ for 1 .. 10;
    is_deeply(\%got, { 429 => 10 },
              'client policy - cannot relax the operator\'s')
        or diag(explain \%got);
    $r = $call->('/rlr/v1/chat/completions', @dave,
                 [ 'Helicone-RateLimit-Policy', '5;w=3600;s=user' ]);
    is($r->{status}, 429, 'client policy - the same figures: still limited');

    # a stricter client policy is a limit of its own: both must pass
    my @erin = ([ 'Helicone-User-Id', 'erin' ],
                [ 'Helicone-RateLimit-Policy', '1;w=3600;s=user' ]);
    is($call->('/rlr/v1/chat/completions', @erin)->{status}, 200,
       'client policy - stricter: first passes');
    $r = $call->('/rlr/v1/chat/completions', @erin);
    is($r->{status}, 429, 'client policy - stricter: adds a limit');
    is($r->{headers}{'helicone-ratelimit-policy'}, '1;w=3600;s=user',
       'client policy - the limit reached is reported');
    @st = map { $call->('/rlr/v1/chat/completions',
                        [ 'Helicone-User-Id', 'erin' ])->{status} } 1 .. 4;
    is_deeply(\@st, [ (200) x 3, 429 ],
              'client policy - took from the operator\'s bucket too')
        or diag("@st");

    # ------------------------------------------------------------- cents

    # each call costs 11 x $0.15 + 3 x $0.60 per 1M = 0.000345 cents
    $r = $call->('/cents/v1/chat/completions');
    is($r->{status}, 200, 'cents - first allowed');
    $t->wait_jsonl('helicone.jsonl', scalar(@{ $t->read_jsonl('helicone.jsonl') }));
    $r = $call->('/cents/v1/chat/completions');
    is($r->{status}, 200, 'cents - 0.000155 left: allowed');
    my $n = scalar @{ $t->read_jsonl('helicone.jsonl') };
    ok($t->wait_for(sub {
           $call->('/cents/v1/chat/completions')->{status} == 429 }),
       'cents - charged after the fact, then refused');

    # ------------------------------------------------------------- concurrency

    my @kids;
    for my $i (1 .. 20) {
        my $pid = fork // die $!;
        if ($pid == 0) {
            my $res = $call->('/many/v1/chat/completions');
            POSIX::_exit($res->{status} == 200 ? 0 : $res->{status} == 429 ? 1
                                                                           : 2);
        }
        push @kids, $pid;
    }

    my %codes;
    for (@kids) { waitpid($_, 0); $codes{$? >> 8}++ }
    is($codes{0} // 0, 5, 'concurrency - exactly the quota of 20 passed');
    is($codes{1} // 0, 15, 'concurrency - the rest got 429');

    # ------------------------------------------------------------- reload

    $t->reload(wait_old => 1);
    $r = $call->('/many/v1/chat/completions');
    is($r->{status}, 429, 'reload - the buckets survive');
}

1;

package HgCacheTests;

# The cache's behaviour, the same on every store: t/cache.t runs it on
# shared memory, t/cache_redis.t on Redis.

use strict;
use warnings;

use JSON::PP;
use Test::More;

use MockLLM;

# $t: an HgTest not yet running; $store: the helicone_store line (or '').
sub run {
    my ($t, $store) = @_;

    my $openai = $t->mock_llm('openai', handler => sub {
        my ($req) = @_;
        my $c = ref $req->{json} eq 'HASH'
                ? $req->{json}{messages}[0]{content} // '' : '';
        return { status => 500, json => MockLLM::openai_error(500, 'no',
                                                              'server_error') }
            if $c eq 'fail';
        # larger than a socket read: Redis answers it in many pieces
        return { status => 200,
                 json => MockLLM::openai_completion('gpt-4o-mini',
                                                    'x' x 300000) }
            if $c eq 'big';
        # a provider's error mid-stream, then a clean end
        return { sse => [
                     MockLLM::sse_data(MockLLM::openai_chunk('gpt-4o-mini',
                                                             'Hi', undef)),
                     MockLLM::sse_data({ error => {
                         message => 'The server had an error',
                         type => 'server_error' } }),
                     "data: [DONE]\n\n" ] }
            if $c eq 'stream error';
        # a clean end without the stream's own end
        return { sse => [
                     MockLLM::sse_data(MockLLM::openai_chunk('gpt-4o-mini',
                                                             'Hi', undef)),
                     MockLLM::sse_data(MockLLM::openai_chunk('gpt-4o-mini',
                                                             '', 'stop')) ] }
            if $c eq 'stream without end';
        return undef;
    });

    my $conf = <<~'EOF2';
    http {
        %%HTTP_HEAD%%
        helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
        helicone_auth off;
        helicone_log file path=%%DIR%%/helicone.jsonl;
        %%STORE%%

        server {
            listen 127.0.0.1:%%PORT_gw%%;
            include %%ATTEMPT_CONF%%;

            location /v1/ {
                helicone_pass gateway;
            }

            location /forced/v1/ {
                helicone_pass gateway;
                helicone_cache on;
                helicone_cache_max_ttl 1s;
            }

            location /off/v1/ {
                helicone_pass gateway;
                helicone_cache off;
            }
        }
    }
    EOF2

    $conf =~ s/%%STORE%%/$store/;
    $t->write_config($t->conf_head . $conf);
    $t->run;

    my $gw = $t->port('gw');

    my $call = sub {
        my (%a) = @_;
        my $path = delete $a{path} // '/v1/chat/completions';
        my $h = delete $a{headers} // [];
        return $t->chat(port => $gw, path => $path, headers => $h,
                        json => { model => 'gpt-4o-mini',
                                  messages => [ { role => 'user',
                                                  content => 'hi' } ], %a });
    };

    my $calls = sub { scalar @{ $openai->requests } };

    my $on = [ [ 'Helicone-Cache-Enabled', 'true' ] ];

    # ------------------------------------------------------------- hit, miss

    my $n = $calls->();
    my $r1 = $call->(headers => $on);
    is($r1->{status}, 200, 'miss - served');
    is($r1->{headers}{'helicone-cache'}, 'MISS', 'miss - Helicone-Cache: MISS');

    my $r2;
    ok($t->wait_for(sub {
           $r2 = $call->(headers => $on);
           ($r2->{headers}{'helicone-cache'} // '') eq 'HIT' }),
       'hit - the second is a HIT');
    is($r2->{body}, $r1->{body}, 'hit - the same body');
    is($r2->{headers}{'content-type'}, $r1->{headers}{'content-type'},
       'hit - the same content type');
    is($r2->{headers}{'helicone-cache-bucket-idx'}, '0', 'hit - bucket index');
    ok(defined $r2->{headers}{'helicone-cache-latency'}, 'hit - latency');
    isnt($r2->{headers}{'helicone-id'}, $r1->{headers}{'helicone-id'},
         'hit - its own id');
    # who answered, as the original response said
    for my $h ('helicone-provider', 'helicone-model',
               'helicone-gateway-mode')
    {
        ok(defined $r1->{headers}{$h}, "miss - $h");
        is($r2->{headers}{$h}, $r1->{headers}{$h}, "hit - the same $h");
    }
    is($calls->(), $n + 1, 'hit - the provider asked once');

    my $hit;
    $t->wait_for(sub {
        ($hit) = grep { $_->{id} eq $r2->{headers}{'helicone-id'} }
                 $t->read_jsonl('helicone.jsonl');
        $hit;
    });
    is($hit->{cacheHit}, JSON::PP::true, 'hit event - cacheHit');
    is($hit->{log}{request}{cacheReferenceId}, $r1->{headers}{'helicone-id'},
       'hit event - refers to the original');
    is($hit->{log}{response}{cost}, 0, 'hit event - cost nothing');
    ok($hit->{log}{response}{costSaved} > 0, 'hit event - saved the original');
    is($hit->{log}{response}{body}, $r1->{body}, 'hit event - the body');

    # the key: not the cache headers' absence, whitespace, ignored keys, seed
    my $r = $call->(headers => [ @$on, [ 'Helicone-Cache-Seed', 'other' ] ]);
    is($r->{headers}{'helicone-cache'}, 'MISS', 'seed - another namespace');

    $r = $call->(headers => $on, temperature => 0.5);
    is($r->{headers}{'helicone-cache'}, 'MISS', 'body - another key');

    $r = $call->(headers => [ @$on, [ 'Helicone-Cache-Ignore-Keys',
                                   '"request_id"' ] ], request_id => 'a');
    $t->wait_for(sub {
        $r = $call->(headers => [ @$on, [ 'Helicone-Cache-Ignore-Keys',
                                       'request_id' ] ], request_id => 'b');
        ($r->{headers}{'helicone-cache'} // '') eq 'HIT' });
    is($r->{headers}{'helicone-cache'}, 'HIT',
       'ignore keys - quoted and bare forms, the key ignores them');

    $r = $t->chat(port => $gw, headers => $on,
                  body => '{ "messages" : [ { "content" : "hi" ,"role":"user"}'
                          . ' ],  "model":"gpt-4o-mini" }');
    is($r->{headers}{'helicone-cache'}, 'HIT', 'whitespace - the same key');

    $r = $call->();
    ok(!exists $r->{headers}{'helicone-cache'}, 'not enabled - no cache');

    # ------------------------------------------------------------- buckets

    $n = $calls->();
    for my $i (1 .. 2) {
        $r = $call->(headers => [ @$on, [ 'Helicone-Cache-Bucket-Max-Size', '2' ] ],
                  user => 'bucket');
        is($r->{headers}{'helicone-cache'}, 'MISS', "buckets - miss $i of 2");
        $t->wait_jsonl('helicone.jsonl',
                       scalar(@{ $t->read_jsonl('helicone.jsonl') }));
    }
    ok($t->wait_for(sub {
           $r = $call->(headers => [ @$on, [ 'Helicone-Cache-Bucket-Max-Size', '2' ] ],
                     user => 'bucket');
           ($r->{headers}{'helicone-cache'} // '') eq 'HIT' }),
       'buckets - hits once every bucket is full');
    like($r->{headers}{'helicone-cache-bucket-idx'}, qr/^[01]$/,
         'buckets - one of the two');

    $r = $call->(headers => [ @$on, [ 'Helicone-Cache-Bucket-Max-Size', '21' ] ]);
    is($r->{status}, 400, 'buckets - over 20 is refused');

    # ------------------------------------------------------------- streams

    my $s1 = $call->(headers => $on, stream => JSON::PP::true);
    my $s2;
    ok($t->wait_for(sub {
           $s2 = $call->(headers => $on, stream => JSON::PP::true);
           ($s2->{headers}{'helicone-cache'} // '') eq 'HIT' }),
       'stream - a HIT');
    is($s2->{body}, $s1->{body}, 'stream - replayed as it was');
    like($s2->{headers}{'content-type'}, qr{text/event-stream},
         'stream - as an event stream');

    # ------------------------------------------------------------- not stored

    # a stream is stored only whole and without an error in it; the log
    # event is written in the same log phase as the entry
    for my $case ('stream error', 'stream without end') {
        my $m = [ { role => 'user', content => $case } ];
        $n = $calls->();
        $r = $call->(headers => $on, stream => JSON::PP::true, messages => $m);
        is($r->{status}, 200, "$case - relayed");
        ok($t->wait_event($r->{headers}{'helicone-id'}), "$case - logged");
        $r = $call->(headers => $on, stream => JSON::PP::true, messages => $m);
        is($r->{headers}{'helicone-cache'}, 'MISS', "$case - not cached");
        is($calls->(), $n + 2, "$case - the provider asked each time");
    }

    $n = $calls->();
    $call->(headers => $on, messages => [ { role => 'user', content => 'fail' } ]);
    $r = $call->(headers => $on, messages => [ { role => 'user', content => 'fail' } ]);
    is($r->{status}, 500, 'errors - not cached');
    is($calls->(), $n + 2, 'errors - the provider asked each time');

    # ------------------------------------------------------------- large

    my $big = [ { role => 'user', content => 'big' } ];
    my $b1 = $call->(headers => $on, messages => $big);
    my $b2;
    ok($t->wait_for(sub {
           $b2 = $call->(headers => $on, messages => $big);
           ($b2->{headers}{'helicone-cache'} // '') eq 'HIT' }),
       'large - a 300 KB response is a HIT');
    ok(length $b1->{body} > 300000 && $b2->{body} eq $b1->{body},
       'large - replayed whole');

    # ------------------------------------------------------------- TTL, forcing

    $r = $call->(path => '/forced/v1/chat/completions', user => 'ttl');
    is($r->{headers}{'helicone-cache'}, 'MISS', 'forced on - without headers');
    ok($t->wait_for(sub {
           ($call->(path => '/forced/v1/chat/completions', user => 'ttl')
            ->{headers}{'helicone-cache'} // '') eq 'HIT' }),
       'forced on - a hit');
    ok($t->wait_for(sub {
           ($call->(path => '/forced/v1/chat/completions', user => 'ttl')
            ->{headers}{'helicone-cache'} // '') eq 'MISS' }, timeout => 5),
       'max ttl - expired after a second');

    $r = $call->(path => '/off/v1/chat/completions', headers => $on);
    ok(!exists $r->{headers}{'helicone-cache'}, 'forced off - headers ignored');

    $r = $call->(headers => [ @$on, [ 'Cache-Control', 'max-age=1' ] ],
              user => 'maxage');
    ok($t->wait_for(sub {
           ($call->(headers => [ @$on, [ 'Cache-Control', 'max-age=1' ] ],
                 user => 'maxage')->{headers}{'helicone-cache'} // '') eq 'HIT' }),
       'max-age - cached');
    ok($t->wait_for(sub {
           ($call->(headers => [ @$on, [ 'Cache-Control', 'max-age=1' ] ],
                 user => 'maxage')->{headers}{'helicone-cache'} // '') eq 'MISS' },
           timeout => 5),
       'max-age - expired');
}

1;

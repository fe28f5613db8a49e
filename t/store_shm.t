#!/usr/bin/perl

# The shared-memory store when it is full: cached responses make room for
# each other, but never by evicting a rate limit's bucket (that would
# reset the limit), an entry that fits gets the room it needs however
# many small ones must go, and an entry too large for the zone is not
# stored rather than emptying the zone for nothing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

$t->mock_llm('openai', handler => sub {
    my ($req) = @_;
    my $c = ref $req->{json} eq 'HASH'
            ? $req->{json}{messages}[0]{content} // '' : '';

    return { json => MockLLM::openai_completion('gpt-4o-mini', 'y' x $1) }
        if $c =~ /^size:(\d+):/;

    return undef;
});

$t->write_config($t->conf_head . <<'EOF2');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_auth off;
    helicone_store shm zone=small:64k;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }

        location /three/v1/ {
            helicone_pass gateway;
            helicone_ratelimit "3;w=3600";
        }
    }
}
EOF2

$t->run;

my $gw = $t->port('gw');
my @on = ([ 'Helicone-Cache-Enabled', 'true' ]);

sub call {
    my ($path, $content, @h) = @_;
    return $t->chat(port => $gw, path => $path, headers => \@h,
                    json => { model => 'gpt-4o-mini',
                              messages => [ { role => 'user',
                                              content => $content } ] });
}

my @st = map { call('/three/v1/chat/completions', 'hi')->{status} } 1 .. 4;
is("@st", '200 200 200 429', 'limit - three, then refused');

# far more cached responses than the zone holds
for my $i (1 .. 16) {
    is(call('/v1/chat/completions', "size:8000:$i", @on)->{status}, 200,
       "cache pressure - response $i served");
}

my $r = call('/v1/chat/completions', 'size:8000:1', @on);
is($r->{headers}{'helicone-cache'}, 'MISS',
   'cache pressure - the oldest entries made room');

$r = call('/three/v1/chat/completions', 'hi');
is($r->{status}, 429, 'cache pressure - the limit holds, its bucket kept')
    or diag("remaining: " . ($r->{headers}{'helicone-ratelimit-remaining'}
                             // '-'));

# many small entries, then one that needs several pages in a row: as many
# small ones go as it takes
for my $i (1 .. 120) {
    call('/v1/chat/completions', "size:10:small-$i", @on);
}
$r = call('/v1/chat/completions', 'size:12000:wide', @on);
# its event is written once the entry was stored (or not)
$t->wait_event($r->{headers}{'helicone-id'});
is(call('/v1/chat/completions', 'size:12000:wide', @on)
   ->{headers}{'helicone-cache'}, 'HIT',
   'room - a wide entry after many small ones is stored at once');
is(call('/three/v1/chat/completions', 'hi')->{status}, 429,
   'room - the limit holds');

# a response larger than a quarter of the zone: served, not stored, and
# the zone is not emptied trying
my $small = call('/v1/chat/completions', 'size:2000:kept', @on);
ok($t->wait_for(sub {
       (call('/v1/chat/completions', 'size:2000:kept', @on)
        ->{headers}{'helicone-cache'} // '') eq 'HIT' }),
   'too large - a small entry is cached first');

for (1 .. 3) {
    $r = call('/v1/chat/completions', 'size:300000:big', @on);
    is($r->{status}, 200, 'too large - served');
    is($r->{headers}{'helicone-cache'}, 'MISS', 'too large - never a hit');
}

is(call('/v1/chat/completions', 'size:2000:kept', @on)
   ->{headers}{'helicone-cache'}, 'HIT',
   'too large - the zone was not emptied for it');
is(call('/three/v1/chat/completions', 'hi')->{status}, 429,
   'too large - the limit holds');

$t->stop;
$t->check_no_alerts;

done_testing;

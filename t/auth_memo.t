#!/usr/bin/perl

# Tests for the key memo (auth.c): a known key's next request skips
# SHA-256, nothing but that key gets in through the memo, a reload that
# takes a key out of the keys file refuses it at once, and no key text
# reaches a log.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $openai = $t->mock_llm('openai');

$ENV{HG_TEST_OPENAI_KEY} = 'sk-openai-secret-memo-456';

my $ORG_OLD = '55555555-5555-4555-8555-555555555555';
my $ORG_NEW = '66666666-6666-4666-8666-666666666666';

my $KEY_OLD = 'sk-helicone-ooooooo-ooooooo-ooooooo-ooooooo';
my $KEY_NEW = 'sk-helicone-nnnnnnn-nnnnnnn-nnnnnnn-nnnnnnn';

sub key_line { sha256_hex("Bearer $_[0]") . " $_[1] memo-app\n" }

$t->write_file('keys', key_line($KEY_OLD, $ORG_OLD));

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%%;
    helicone_provider_key openai env=HG_TEST_OPENAI_KEY;
    helicone_keys %%DIR%%/keys;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ { helicone_pass gateway; }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my $memo_re = qr/helicone auth: key known from the memo/;

sub chat_with {
    my ($key) = @_;

    return $t->chat(
        port => $gw,
        json => { model => 'gpt-4o-mini',
                  messages => [ { role => 'user', content => 'hi' } ] },
        headers => [ [ 'Authorization', "Bearer $key" ] ],
    );
}

# ---------------------------------------------------------------- memo

my $since = $t->log_offset;

is(chat_with($KEY_OLD)->{status}, 200, 'memo - known key accepted');
unlike($t->error_log(since => $since), $memo_re,
       'memo - first request: the key hashed, not in the memo');

$since = $t->log_offset;

is(chat_with($KEY_OLD)->{status}, 200, 'memo - same key again accepted');
ok($t->wait_log($memo_re, since => $since),
   'memo - second request: the key found in the memo');

is(chat_with($KEY_NEW)->{status}, 401, 'memo - key not in the file refused');

# ---------------------------------------------------------------- reload

$t->write_file('keys', key_line($KEY_NEW, $ORG_NEW));

# the old worker, whose memo has the key, gone
$t->reload(wait_old => 1);

is(chat_with($KEY_NEW)->{status}, 200,
   'reload - key added to the file accepted');

$since = $t->log_offset;

my $r = chat_with($KEY_OLD);

is($r->{status}, 401, 'reload - key removed from the file refused');
is($r->{json}{error}{code}, 'invalid_api_key',
   'reload - removed key: invalid_api_key');
unlike($t->error_log(since => $since), $memo_re,
       'reload - removed key not found in a memo');

$t->stop;

# ---------------------------------------------------------------- no keys

my $secret_re = join '|', map { quotemeta } $KEY_OLD, $KEY_NEW,
                                            $ENV{HG_TEST_OPENAI_KEY};

my $jsonl = $t->read_file('helicone.jsonl') // '';
ok(length $jsonl, 'no keys - event log written');
unlike($jsonl, qr/$secret_re/, 'no keys - none in the event log');

my @bad = grep {
    /$secret_re/
    && (!/^\S+ \S+ \[debug\]/ || /^\S+ \S+ \[debug\] \d+#\d+: \*?\d* ?helicone/)
} split /^(?=\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[)/m, $t->error_log;

ok(!@bad, 'no keys - none in the module\'s error.log lines')
    or diag(join '', @bad);

$t->check_no_alerts;

done_testing;

#!/usr/bin/perl

# Tests for helicone auth: the keys file, helicone_auth required, optional
# and off, where the Helicone key is looked for in each mode, the org in
# the log event, and that no key ever reaches a log.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use JSON::PP;
use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $openai = $t->mock_llm('openai');

my $PROVIDER_KEY = 'sk-openai-secret-auth-789';
my $CLIENT_PROVIDER_KEY = 'sk-client-own-provider-key-321';

$ENV{HG_TEST_OPENAI_KEY} = $PROVIDER_KEY;

my $ORG_A = '11111111-1111-4111-8111-111111111111';
my $ORG_B = '22222222-2222-4222-8222-222222222222';
my $ORG_C = '33333333-3333-4333-8333-333333333333';
my $ORG_MINT = '44444444-4444-4444-8444-444444444444';

my $KEY_A = 'sk-helicone-aaaaaaa-aaaaaaa-aaaaaaa-aaaaaaa';
my $KEY_B = 'sk-helicone-bbbbbbb-bbbbbbb-bbbbbbb-bbbbbbb';
my $KEY_C = 'sk-helicone-ccccccc-ccccccc-ccccccc-ccccccc';
my $KEY_WRONG = 'sk-helicone-wwwwwww-wwwwwww-wwwwwww-wwwwwww';
my $KEY_COMMENTED = 'sk-helicone-ddddddd-ddddddd-ddddddd-ddddddd';

my $UUID_RE = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-
                  [0-9a-f]{12}$/x;

sub key_hash { sha256_hex("Bearer $_[0]") }

# ---------------------------------------------------------------- mint-key

my $root = $t->root;
my $dir = $t->dir;

my $rc = system("$root/tools/mint-key --quiet $ORG_MINT mint-app "
                . ">$dir/mint.line 2>$dir/mint.key");
is($rc, 0, 'mint-key - exit status 0');

(my $MINT_LINE = $t->read_file('mint.line') // '') =~ s/\s+\z//;
(my $KEY_MINT = $t->read_file('mint.key') // '') =~ s/\s+\z//;

like($KEY_MINT, qr/^sk-helicone-[a-z2-7]{7}(-[a-z2-7]{7}){3}$/,
     'mint-key - key shape');
like($MINT_LINE, qr/^[0-9a-f]{64} \Q$ORG_MINT\E mint-app$/,
     'mint-key - line shape');
is((split ' ', $MINT_LINE)[0], key_hash($KEY_MINT),
   'mint-key - line hash is sha256 of "Bearer " + key');

# ---------------------------------------------------------------- config

$t->write_file('keys', join '',
    "# Helicone keys: <sha256-hex> <org-id> [name]\n",
    "\n",
    key_hash($KEY_A) . " $ORG_A app a\n",
    "   # an indented comment\n",
    "# " . key_hash($KEY_COMMENTED) . " $ORG_A commented-out\n",
    "   \t \n",
    key_hash($KEY_B) . "\t$ORG_B\n",
    "\n",
    "$MINT_LINE\n",
    key_hash($KEY_C) . " $ORG_C crlf\r\n",
);

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

        location /optional/v1/ {
            helicone_auth optional;
            helicone_pass gateway;
        }

        location /off/v1/ {
            helicone_auth off;
            helicone_pass gateway;
        }

        location /openai/ { helicone_pass openai; }
    }

    server {
        listen 127.0.0.1:%%PORT_srv%%;
        include %%ATTEMPT_CONF%%;
        helicone_auth off;

        location /v1/ { helicone_pass gateway; }

        location /strict/v1/ {
            helicone_auth required;
            helicone_pass gateway;
        }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my $srv = $t->port('srv');
my $messages = [ { role => 'user', content => 'hi' } ];
my @expected_cases;    # X-Test-Case of every request the provider must see
my $refused = 0;       # 401s sent

sub send_chat {
    my (%a) = @_;
    my $case = delete $a{case};
    my $path = delete $a{path} // '/v1/chat/completions';

    return $t->chat(
        port    => delete $a{port} // $gw,
        path    => $path,
        json    => { model => 'gpt-4o-mini', messages => $messages },
        headers => [ [ 'X-Test-Case', $case ], @{ delete $a{headers} // [] } ],
        %a,
    );
}

sub event_of {
    my ($r) = @_;
    my $id = $r->{headers}{'helicone-id'} // return undef;
    my $ev;

    $t->wait_for(sub {
        ($ev) = grep { $_->{id} eq $id } $t->read_jsonl('helicone.jsonl');
        $ev;
    });

    return $ev;
}

# the last request the provider got, once it got $n in all
sub provider_request {
    my ($n) = @_;
    my @req = $openai->wait_requests($n);
    return @req >= $n ? $req[$n - 1] : {};
}

# a refused request: the 401 and its event, and the provider not called
sub check_401 {
    my ($r, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my $before = scalar @expected_cases;

    $refused++;

    is($r->{status}, 401, "$name is 401");
    like($r->{headers}{'content-type'} // '', qr{^application/json},
         "$name - JSON content type");
    like($r->{headers}{'helicone-id'} // '', $UUID_RE,
         "$name - Helicone-Id present");

    my $err = ref $r->{json} eq 'HASH' ? $r->{json}{error} : undef;

    like($err->{message} // '', qr/^Invalid Helicone API key: /,
         "$name - message");
    is($err->{type}, 'invalid_request_error', "$name - type");
    is($err->{code}, 'invalid_api_key', "$name - code");
    ok($err && exists $err->{param} && !defined $err->{param},
       "$name - param is null");
    is_deeply([ sort keys %{ $err // {} } ], [qw(code message param type)],
              "$name - error fields");

    is(scalar $openai->requests->@*, $before, "$name - provider not called");

    my $ev = event_of($r);

    ok($ev, "$name - logged");
    is($ev->{log}{response}{status}, 401, "$name - event status 401");
    ok($ev && exists $ev->{organizationId} && !defined $ev->{organizationId},
       "$name - event organizationId null");
}

# a request that went through: the provider's answer and the event's org
sub check_ok {
    my ($r, $name, $case, $org) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    push @expected_cases, $case;

    is($r->{status}, 200, "$name - 200");
    is($r->{json}{choices}[0]{message}{content}, 'Hello from mock',
       "$name - provider answer relayed");

    my $got = provider_request(scalar @expected_cases);

    is($got->{headers}{'x-test-case'}, $case, "$name - provider called");

    my $ev = event_of($r);

    ok($ev, "$name - logged");
    is($ev->{log}{response}{status}, 200, "$name - event status");
    is($ev->{organizationId}, $org, "$name - event organizationId");

    return $got;
}

# ------------------------------------------------- required (the default)

check_401(send_chat(case => 'missing'), 'auth - missing key');

check_401(send_chat(case => 'wrong-authz',
                    headers => [ [ 'Authorization', "Bearer $KEY_WRONG" ] ]),
          'auth - unknown key in Authorization');

check_401(send_chat(case => 'wrong-hauth',
                    headers => [ [ 'Helicone-Auth', "Bearer $KEY_WRONG" ] ]),
          'auth - unknown key in Helicone-Auth');

check_401(send_chat(case => 'wrong-xapi',
                    headers => [ [ 'x-api-key', $KEY_WRONG ] ]),
          'auth - unknown key in x-api-key');

check_401(send_chat(case => 'empty',
                    headers => [ [ 'Authorization', 'Bearer ' ] ]),
          'auth - empty bearer');

check_401(send_chat(case => 'commented',
                    headers => [ [ 'Authorization',
                                   "Bearer $KEY_COMMENTED" ] ]),
          'auth - key on a commented-out line');

# a key in a wrong place is not a key: api-key is not looked at
check_401(send_chat(case => 'api-key',
                    headers => [ [ 'api-key', $KEY_A ] ]),
          'auth - key in api-key header');

# the 401s reached nobody; a good request after them is the first one
my $got = check_ok(
    send_chat(case => 'gw-authz',
              headers => [ [ 'Authorization', "Bearer $KEY_A" ],
                           [ 'api-key', 'client-azure-style-key' ] ]),
    'auth - gateway, Authorization: Bearer key', 'gw-authz', $ORG_A);

is($got->{headers}{authorization}, "Bearer $PROVIDER_KEY",
   'auth - gateway, provider key injected instead of the Helicone key');
ok(!exists $got->{headers}{'api-key'},
   'auth - gateway, client api-key not forwarded');

$got = check_ok(
    send_chat(case => 'gw-authz-nobearer',
              headers => [ [ 'Authorization', $KEY_A ] ]),
    'auth - gateway, Authorization without Bearer', 'gw-authz-nobearer',
    $ORG_A);

$got = check_ok(
    send_chat(case => 'gw-xapi',
              headers => [ [ 'x-api-key', $KEY_A ] ]),
    'auth - gateway, x-api-key', 'gw-xapi', $ORG_A);

ok(!exists $got->{headers}{'x-api-key'},
   'auth - gateway, client x-api-key not forwarded');
is($got->{headers}{authorization}, "Bearer $PROVIDER_KEY",
   'auth - gateway, x-api-key replaced by the provider key');

$got = check_ok(
    send_chat(case => 'gw-hauth',
              headers => [ [ 'Helicone-Auth', "Bearer $KEY_B" ] ]),
    'auth - gateway, Helicone-Auth, second org', 'gw-hauth', $ORG_B);

ok(!grep({ lc $_->[0] eq 'helicone-auth' } @{ $got->{header_list} }),
   'auth - gateway, Helicone-Auth not forwarded');

check_ok(send_chat(case => 'gw-hauth-nobearer',
                   headers => [ [ 'helicone-auth', $KEY_B ] ]),
         'auth - gateway, Helicone-Auth without Bearer', 'gw-hauth-nobearer',
         $ORG_B);

# Helicone-Auth is looked at first: a bad one is not saved by Authorization
check_401(send_chat(case => 'hauth-first',
                    headers => [ [ 'Helicone-Auth', "Bearer $KEY_WRONG" ],
                                 [ 'Authorization', "Bearer $KEY_A" ] ]),
          'auth - Helicone-Auth takes precedence over Authorization');

check_ok(send_chat(case => 'hauth-over-authz',
                   headers => [ [ 'Helicone-Auth', "Bearer $KEY_B" ],
                                [ 'Authorization', "Bearer $KEY_A" ] ]),
         'auth - Helicone-Auth org wins over Authorization',
         'hauth-over-authz', $ORG_B);

# keys file details: a tab separator, a CRLF line end, mint-key's line

check_ok(send_chat(case => 'crlf',
                   headers => [ [ 'Authorization', "Bearer $KEY_C" ] ]),
         'auth - keys file line ending in CRLF', 'crlf', $ORG_C);

check_ok(send_chat(case => 'minted',
                   headers => [ [ 'Authorization', "Bearer $KEY_MINT" ] ]),
         'auth - minted key end to end', 'minted', $ORG_MINT);

check_ok(send_chat(case => 'minted-hauth',
                   headers => [ [ 'Helicone-Auth', "Bearer $KEY_MINT" ] ]),
         'auth - minted key in Helicone-Auth', 'minted-hauth', $ORG_MINT);

# ---------------------------------------------------------------- proxy

$got = check_ok(
    send_chat(case => 'proxy',
              path => '/openai/v1/chat/completions',
              headers => [ [ 'Helicone-Auth', "Bearer $KEY_A" ],
                           [ 'Authorization', "Bearer $CLIENT_PROVIDER_KEY" ],
                           [ 'x-api-key', 'client-x-api-key' ] ]),
    'auth - proxy, Helicone-Auth', 'proxy', $ORG_A);

is($got->{headers}{authorization}, "Bearer $CLIENT_PROVIDER_KEY",
   'auth - proxy, client Authorization reaches the provider untouched');
is($got->{headers}{'x-api-key'}, 'client-x-api-key',
   'auth - proxy, client x-api-key reaches the provider untouched');
is(scalar(grep { lc $_->[0] eq 'authorization' } @{ $got->{header_list} }),
   1, 'auth - proxy, one Authorization header');
ok(!grep({ lc $_->[0] eq 'helicone-auth' } @{ $got->{header_list} }),
   'auth - proxy, Helicone-Auth stripped');
is($got->{path}, '/openai/v1/chat/completions', 'auth - proxy, client path');

# in proxy mode Authorization is the provider key, never the Helicone key
check_401(send_chat(case => 'proxy-authz',
                    path => '/openai/v1/chat/completions',
                    headers => [ [ 'Authorization', "Bearer $KEY_A" ] ]),
          'auth - proxy, Helicone key in Authorization');

check_401(send_chat(case => 'proxy-xapi',
                    path => '/openai/v1/chat/completions',
                    headers => [ [ 'x-api-key', $KEY_A ] ]),
          'auth - proxy, Helicone key in x-api-key');

check_401(send_chat(case => 'proxy-missing',
                    path => '/openai/v1/chat/completions',
                    headers => [ [ 'Authorization',
                                   "Bearer $CLIENT_PROVIDER_KEY" ] ]),
          'auth - proxy, missing Helicone-Auth');

check_401(send_chat(case => 'proxy-wrong',
                    path => '/openai/v1/chat/completions',
                    headers => [ [ 'Helicone-Auth', "Bearer $KEY_WRONG" ],
                                 [ 'Authorization',
                                   "Bearer $CLIENT_PROVIDER_KEY" ] ]),
          'auth - proxy, unknown Helicone-Auth');

# ---------------------------------------------------------------- optional

check_ok(send_chat(case => 'opt-missing',
                   path => '/optional/v1/chat/completions'),
         'auth optional - missing key proceeds', 'opt-missing', undef);

check_ok(send_chat(case => 'opt-wrong',
                   path => '/optional/v1/chat/completions',
                   headers => [ [ 'Authorization', "Bearer $KEY_WRONG" ] ]),
         'auth optional - unknown key proceeds, no org', 'opt-wrong', undef);

check_ok(send_chat(case => 'opt-known',
                   path => '/optional/v1/chat/completions',
                   headers => [ [ 'Authorization', "Bearer $KEY_B" ] ]),
         'auth optional - known key sets the org', 'opt-known', $ORG_B);

# ---------------------------------------------------------------- off

check_ok(send_chat(case => 'off-missing', path => '/off/v1/chat/completions'),
         'auth off - missing key proceeds', 'off-missing', undef);

check_ok(send_chat(case => 'off-wrong', path => '/off/v1/chat/completions',
                   headers => [ [ 'Helicone-Auth', "Bearer $KEY_WRONG" ] ]),
         'auth off - unknown key proceeds', 'off-wrong', undef);

check_ok(send_chat(case => 'off-known', path => '/off/v1/chat/completions',
                   headers => [ [ 'Authorization', "Bearer $KEY_A" ] ]),
         'auth off - key not looked up, no org', 'off-known', undef);

# server-level off, location-level required

check_ok(send_chat(case => 'srv-off', port => $srv),
         'auth off in server - inherited by the location', 'srv-off', undef);

check_401(send_chat(case => 'srv-strict', port => $srv,
                    path => '/strict/v1/chat/completions'),
          'auth required in location - overrides server off');

check_ok(send_chat(case => 'srv-strict-ok', port => $srv,
                   path => '/strict/v1/chat/completions',
                   headers => [ [ 'x-api-key', "Bearer $KEY_B" ] ]),
         'auth required in location - known key', 'srv-strict-ok', $ORG_B);

# ---------------------------------------------------------------- memo
# A known key's verdict is kept by the worker (one here): the same key
# again skips SHA-256, and nothing near it gets in through the memo.

my $memo_re = qr/helicone auth: key known from the memo/;
my $since = $t->log_offset;

check_ok(send_chat(case => 'memo-first',
                   headers => [ [ 'Authorization', "Bearer $KEY_B" ] ]),
         'auth memo - known key', 'memo-first', $ORG_B);
check_ok(send_chat(case => 'memo-again',
                   headers => [ [ 'x-api-key', $KEY_B ] ]),
         'auth memo - same key again', 'memo-again', $ORG_B);

ok($t->wait_log($memo_re, since => $since),
   'auth memo - the second request found the key in the memo');

# Keys near the memoized one that land in its slot, so that the memo's
# compare is what refuses them: the slot is nginx's ngx_hash_key() of the
# key (key * 31 + byte) modulo the 64 slots (auth.c).

sub memo_slot {
    my $h = 0;
    $h = ($h * 31 + ord $_) % 64 for split //, $_[0];
    return $h;
}

# a key of $len bytes: KEY_B's bytes, the last two chosen to share its slot
sub near_key {
    my ($len) = @_;
    my $head = substr($KEY_B . 'x', 0, $len - 2);

    for my $x ('a' .. 'z') {
        for my $y ('a' .. 'z') {
            my $k = "$head$x$y";
            return $k if $k ne $KEY_B && memo_slot($k) == memo_slot($KEY_B);
        }
    }

    die "no key of $len bytes shares the memo slot\n";
}

$since = $t->log_offset;

check_401(send_chat(case => 'memo-near',
                    headers => [ [ 'Authorization',
                                   'Bearer ' . near_key(length $KEY_B) ] ]),
          'auth memo - same slot, same length, last bytes differ');
check_401(send_chat(case => 'memo-short',
                    headers => [ [ 'Authorization',
                                   'Bearer '
                                   . near_key(length($KEY_B) - 1) ] ]),
          'auth memo - same slot, a byte shorter');
check_401(send_chat(case => 'memo-long',
                    headers => [ [ 'Authorization',
                                   'Bearer '
                                   . near_key(length($KEY_B) + 1) ] ]),
          'auth memo - same slot, a byte longer');

unlike($t->error_log(since => $since), $memo_re,
       'auth memo - no key near the memoized one hit the memo');

# ---------------------------------------------------------------- totals

my @seen = map { $_->{headers}{'x-test-case'} }
           $openai->wait_requests(scalar @expected_cases);

is_deeply(\@seen, \@expected_cases,
          'auth - the provider saw exactly the accepted requests');

$t->stop;

# ---------------------------------------------------------------- no keys
# in any log. With "error_log debug" nginx itself dumps request and
# upstream headers (core "http header:", proxy "http proxy header:"); those
# are nginx's, not ours, so the module's own lines and every line above
# debug level are checked.

my @secrets = ($KEY_A, $KEY_B, $KEY_C, $KEY_MINT, $KEY_WRONG, $KEY_COMMENTED,
               $PROVIDER_KEY, $CLIENT_PROVIDER_KEY,
               map { near_key($_) } map { length($KEY_B) + $_ } -1 .. 1);
my $secret_re = join '|', map { quotemeta } @secrets;

my $jsonl = $t->read_file('helicone.jsonl') // '';
my @leaks = $jsonl =~ /($secret_re)/g;

ok(length $jsonl, 'no keys - event log written');
ok(!@leaks, 'no keys - none in the event log')
    or diag("found: @leaks");

my @entries = split /^(?=\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[)/m,
              $t->error_log;

my @bad = grep {
    /$secret_re/
    && (!/^\S+ \S+ \[debug\]/ || /^\S+ \S+ \[debug\] \d+#\d+: \*?\d* ?helicone/)
} @entries;

ok(!@bad, 'no keys - none in the module\'s error.log lines')
    or diag(join '', @bad);

my @info = grep { /\[info\].*helicone auth: missing or unknown/ } @entries;
ok(scalar @info >= 1, 'auth - refusals logged at info');

my @all = $t->read_jsonl('helicone.jsonl');
my $n401 = grep { $_->{log}{response}{status} == 401 } @all;
is($n401, $refused, 'auth - one event per refused request');
is(scalar @all, $refused + @expected_cases, 'auth - one event per request');

$t->check_no_alerts;

done_testing;

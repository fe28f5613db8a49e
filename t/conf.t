#!/usr/bin/perl

# Tests for helicone configuration: each bad configuration fails
# `nginx -t` with its message; a full valid one passes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;

plan(skip_all => 'module not built') unless HgTest->new->has_module;

delete $ENV{HG_UNSET_VAR_X};
$ENV{HG_TEST_CONF_KEY} = 'sk-conf-test-key';

my $GOOD_HASH = 'ab' x 32;

# http{} and server{} bodies: the server gets a gateway location unless the
# case brings its own
sub config {
    my (%c) = @_;

    my $locations = $c{locations} // 'location /v1/ { helicone_pass gateway; }';

    return HgTest->conf_head . <<EOF;
http {
    %%HTTP_HEAD%%
    helicone_auth off;
    $c{http}

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;
        $c{server}

        $locations
    }
}
EOF
}

# [ name, http, server, locations, files, message ]
my @bad = (
    [ 'unknown provider in helicone_pass', '', '',
      'location /x/ { helicone_pass nosuch; }', {},
      qr/\[emerg\].*helicone_pass: unknown provider "nosuch"/ ],

    [ 'duplicate helicone_pass', '', '',
      'location /x/ { helicone_pass gateway; helicone_pass gateway; }', {},
      qr/\[emerg\].*"helicone_pass" directive is duplicate/ ],

    [ 'duplicate helicone_pass, two kinds', '', '',
      'location /x/ { helicone_pass gateway; helicone_pass target; }', {},
      qr/\[emerg\].*"helicone_pass" directive is duplicate/ ],

    [ 'helicone_pass outside a location', '', 'helicone_pass gateway;', undef,
      {}, qr/\[emerg\].*"helicone_pass" directive is not allowed here/ ],

    [ 'target origin with a path', '', '',
      'location /x/ { helicone_pass target; '
      . 'helicone_target_allow http://x/path; }', {},
      qr/\[emerg\].*invalid origin "http:\/\/x\/path"/ ],

    [ 'target origin with a trailing slash',
      'helicone_target_allow http://127.0.0.1:8000/;', '', undef, {},
      qr/\[emerg\].*invalid origin "http:\/\/127\.0\.0\.1:8000\/"/ ],

    [ 'target origin not a URL', '',
      'helicone_target_allow 127.0.0.1:8000;', undef, {},
      qr/\[emerg\].*invalid origin "127\.0\.0\.1:8000"/ ],

    [ 'helicone_log file without path', 'helicone_log file;', '', undef, {},
      qr/\[emerg\].*"helicone_log" directive needs path=/ ],

    # one buffer= and flush= per file, whichever lines name it
    [ 'helicone_log file, two buffers for one file',
      "helicone_log file path=%%DIR%%/h.jsonl buffer=16k;\n"
      . 'helicone_log file path=%%DIR%%/h.jsonl buffer=32k;', '', undef, {},
      qr/\[emerg\].*h\.jsonl" is used with another buffer= or flush=/ ],

    # a buffered access_log keeps its buffer in the file too
    [ 'helicone_log file after a buffered access_log on it',
      "access_log %%DIR%%/h.jsonl combined buffer=8k;\n"
      . 'helicone_log file path=%%DIR%%/h.jsonl;', '', undef, {},
      qr/\[emerg\].*h\.jsonl" is buffered by another module/ ],

    [ 'a buffered access_log after helicone_log file on it',
      "helicone_log file path=%%DIR%%/h.jsonl;\n"
      . 'access_log %%DIR%%/h.jsonl combined buffer=8k;', '', undef, {},
      qr/\[emerg\].*access_log ".*h\.jsonl" already defined with conflicting/ ],

    [ 'unknown log sink', 'helicone_log nosuch path=x;', '', undef, {},
      qr/unknown log sink "nosuch": expected "file", "kafka" or "off"/ ],

    # key=value arguments: the key whole, then "="
    [ 'helicone_log file with a longer key', 'helicone_log file paths=/x;',
      '', undef, {}, qr/\[emerg\].*invalid parameter "paths=\/x"/ ],

    [ 'helicone_log file with a key and no "="', 'helicone_log file path;',
      '', undef, {}, qr/\[emerg\].*invalid parameter "path"/ ],

    [ 'helicone_retry with an empty value', 'helicone_retry on num=;', '',
      undef, {}, qr/\[emerg\].*invalid parameter "num="/ ],

    [ 'bad line in the keys file', 'helicone_keys %%DIR%%/keys;', '', undef,
      { keys => "# comment\nnot-a-hash org-1\n$GOOD_HASH org-2\n" },
      qr/\[emerg\].*invalid line 2 in "%%DIR%%\/keys"/ ],

    [ 'keys line without org', 'helicone_keys %%DIR%%/keys;', '', undef,
      { keys => "\n$GOOD_HASH org-1\n\n$GOOD_HASH\n" },
      qr/\[emerg\].*invalid line 4 in "%%DIR%%\/keys"/ ],

    [ 'keys hash too short', 'helicone_keys %%DIR%%/keys;', '', undef,
      { keys => substr($GOOD_HASH, 2) . " org-1\n" },
      qr/\[emerg\].*invalid line 1 in "%%DIR%%\/keys"/ ],

    [ 'keys file missing', 'helicone_keys %%DIR%%/no-such-keys;', '', undef,
      {}, qr/\[emerg\].*"%%DIR%%\/no-such-keys" failed/ ],

    [ 'helicone_keys outside http', '', 'helicone_keys %%DIR%%/keys;', undef,
      { keys => "$GOOD_HASH org-1\n" },
      qr/\[emerg\].*"helicone_keys" directive is not allowed here/ ],

    [ 'provider key from an unset variable',
      'helicone_provider_key openai env=HG_UNSET_VAR_X;', '', undef, {},
      qr/\[emerg\].*environment variable "HG_UNSET_VAR_X" is not set/ ],

    [ 'provider key for an unknown provider',
      'helicone_provider_key nosuch env=HOME;', '', undef, {},
      qr/\[emerg\].*helicone_provider_key: unknown provider "nosuch"/ ],

    [ 'provider key file missing',
      'helicone_provider_key openai file=%%DIR%%/no-such-key;', '', undef,
      {}, qr/\[emerg\].*"%%DIR%%\/no-such-key" failed/ ],

    [ 'provider key file empty',
      'helicone_provider_key openai file=%%DIR%%/empty.key;', '', undef,
      { 'empty.key' => "\n" },
      qr/\[emerg\].*empty key for provider "openai"/ ],

    [ 'provider key neither env nor file',
      'helicone_provider_key openai sk-inline;', '', undef, {},
      qr/\[emerg\].*invalid parameter "sk-inline"/ ],

    [ 'new provider without url', 'helicone_provider new1 api=openai;', '',
      undef, {},
      qr/\[emerg\].*helicone_provider "new1" is new and needs url=/ ],

    [ 'provider with an unknown api', 'helicone_provider openai api=gemini;',
      '', undef, {}, qr/\[emerg\].*invalid parameter "api=gemini"/ ],

    [ 'provider with an unknown auth',
      'helicone_provider openai auth=basic;', '', undef, {},
      qr/\[emerg\].*invalid parameter "auth=basic"/ ],

    [ 'provider with a bad url',
      'helicone_provider new2 url=ftp://127.0.0.1;', '', undef, {},
      qr/\[emerg\].*invalid parameter "url=ftp:\/\/127\.0\.0\.1"/ ],

    # nginx's own enum message, which does not name the directive
    [ 'invalid helicone_auth value', '', 'helicone_auth maybe;', undef, {},
      qr/\[emerg\] invalid value "maybe" in \S+nginx\.conf:\d+$/m ],

    [ 'helicone_auth in a location, invalid', '', '',
      'location /x/ { helicone_auth yes; helicone_pass gateway; }', {},
      qr/\[emerg\] invalid value "yes" in \S+nginx\.conf:\d+$/m ],

    [ 'duplicate helicone_auth', 'helicone_auth optional;', '', undef, {},
      qr/\[emerg\] "helicone_auth" directive is duplicate/ ],

    # the store
    [ 'unknown store', 'helicone_store memcached x=1;', '', undef, {},
      qr/\[emerg\].*unknown store "memcached": expected "shm" or "redis"/ ],

    [ 'redis store without url', 'helicone_store redis timeout=1s;', '',
      undef, {}, qr/\[emerg\].*"helicone_store" directive needs url=/ ],

    [ 'redis url of another scheme',
      'helicone_store redis url=http://127.0.0.1:6379;', '', undef, {},
      qr/\[emerg\].*invalid redis url: expected "redis\[s\]:\/\// ],

    [ 'redis tls parameters for a plain url',
      'helicone_store redis url=redis://127.0.0.1:6379 tls_ca=/x.crt;', '',
      undef, {}, qr/\[emerg\].*tls_ parameters for a plain redis:\/\/ url/ ],

    [ 'redis client certificate without its key',
      'helicone_store redis url=rediss://127.0.0.1:6379 tls_cert=/x.crt;',
      '', undef, {}, qr/\[emerg\].*needs both tls_cert= and tls_key=/ ],

    [ 'redis CA file missing',
      'helicone_store redis url=rediss://127.0.0.1:6379 '
      . 'tls_ca=/nonexistent/ca.crt;', '', undef, {},
      qr/\[emerg\].*\/nonexistent\/ca\.crt/ ],

    [ 'redis url with a password: not shown',
      'helicone_store redis url=redis://app:hunter2@127.0.0.1:6379/x;', '',
      undef, {},
      qr/\[emerg\].*invalid database in redis url "redis:\/\/127\.0\.0\.1:6379\/x"/ ],

    [ 'redis user without a password',
      'helicone_store redis url=redis://app@127.0.0.1:6379;', '', undef, {},
      qr/\[emerg\].*has a user and no password/ ],

    [ 'redis password in nginx.conf',
      'helicone_store redis url=redis://app@127.0.0.1:6379 password=pw;', '',
      undef, {}, qr/\[emerg\].*given as env:VAR or file:path/ ],

    [ 'redis password file missing',
      'helicone_store redis url=redis://app@127.0.0.1:6379 '
      . 'password=file:/nonexistent/pw;', '', undef, {},
      qr/\[emerg\].*open\(\) "\/nonexistent\/pw" failed/ ],

    [ 'redis sentinels with a port for the master',
      'helicone_store redis url=redis://mymaster:6379 '
      . 'sentinels=127.0.0.1:26379;', '', undef, {},
      qr/\[emerg\].*its host is the master's name, without a port/ ],

    [ 'redis sentinels over TLS without tls_name',
      'helicone_store redis url=rediss://mymaster '
      . 'sentinels=127.0.0.1:26379;', '', undef, {},
      qr/\[emerg\].*with sentinels= needs tls_name=/ ],

    [ 'redis sentinel password without sentinels',
      'helicone_store redis url=redis://127.0.0.1 '
      . 'sentinel_password=env:HOME;', '', undef, {},
      qr/\[emerg\].*has sentinel_password= without sentinels=/ ],

    [ 'redis cluster with a database',
      'helicone_store redis url=redis://127.0.0.1:6379/2 cluster=on;', '',
      undef, {}, qr/\[emerg\].*a Redis Cluster has only database 0/ ],

    [ 'redis cluster and sentinels',
      'helicone_store redis url=redis://mymaster cluster=on '
      . 'sentinels=127.0.0.1:26379;', '', undef, {},
      qr/\[emerg\].*takes sentinels= or cluster=on, not both/ ],

    [ 'redis url with a bad database',
      'helicone_store redis url=redis://127.0.0.1:6379/x;', '', undef, {},
      qr/\[emerg\].*invalid database in redis url/ ],

    [ 'redis password from an unset variable',
      'helicone_store redis url=redis://127.0.0.1 '
      . 'password=env:HG_UNSET_VAR_X;', '', undef, {},
      qr/\[emerg\].*environment variable "HG_UNSET_VAR_X" is not set/ ],

    [ 'redis timeout invalid',
      'helicone_store redis url=redis://127.0.0.1 timeout=soon;', '', undef,
      {}, qr/\[emerg\].*invalid parameter "timeout=soon"/ ],

    [ 'redis prefix with a hash tag',
      'helicone_store redis url=redis://127.0.0.1 "prefix=a{x}";', '', undef,
      {}, qr/\[emerg\].*invalid parameter "prefix=a\{x\}"/ ],

    [ 'shm store without a zone', 'helicone_store shm size=1m;', '', undef, {},
      qr/\[emerg\].*"helicone_store" directive needs zone=NAME:SIZE/ ],

    [ 'store with two zones',
      'helicone_store redis url=redis://127.0.0.1 zone=a:1m zone=b:1m;', '',
      undef, {}, qr/\[emerg\].*duplicate parameter "zone=b:1m"/ ],

    [ 'duplicate helicone_store',
      "helicone_store shm zone=a:1m;\n"
      . 'helicone_store redis url=redis://127.0.0.1;', '', undef, {},
      qr/\[emerg\].*"helicone_store" directive is duplicate/ ],

    [ 'helicone_keys_redis without redis', 'helicone_keys_redis on;', '',
      undef, {},
      qr/\[emerg\].*"helicone_keys_redis" needs "helicone_store redis"/ ],

    [ 'helicone_keys_redis valid invalid',
      "helicone_store redis url=redis://127.0.0.1;\n"
      . 'helicone_keys_redis on valid=0;', '', undef, {},
      qr/\[emerg\].*invalid parameter "valid=0"/ ],

    [ 'invalid helicone_ratelimit_fail', '', '',
      'location /x/ { helicone_pass gateway; helicone_ratelimit_fail shut; }',
      {}, qr/\[emerg\] invalid value "shut" in \S+nginx\.conf:\d+$/m ],
);

for my $case (@bad) {
    my ($name, $http, $server, $locations, $files, $re) = @$case;

    my $t = HgTest->new;
    my $dir = $t->dir;

    $t->write_file($_, $files->{$_}) for keys %$files;

    $t->write_config(config(http => $http, server => $server,
                            locations => $locations));

    my ($rc, $out) = $t->nginx_t;

    (my $want = "$re") =~ s/%%DIR%%/\Q$dir\E/g;

    isnt($rc, 0, "conf - $name fails");
    like($out, qr/$want/, "conf - $name - message")
        or diag($out);
    like($out, qr/test failed/, "conf - $name - nginx says test failed");
}

# ------------------------------------------------------------ valid config

my $t = HgTest->new;

$t->write_file('keys', "# keys\n\n$GOOD_HASH org-1 app one\n"
                       . ('cd' x 32) . "\torg-2\r\n");
$t->write_file('groq.key', "gsk-conf-test\n");

$t->write_config(HgTest->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%

    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%%/v1base;
    helicone_provider groq url=http://127.0.0.1:%%PORT_groq%%/openai
                      path=/v1/chat/completions auth=bearer;
    helicone_provider local url=http://127.0.0.1:%%PORT_local%% api=openai
                      auth=none legacy=LOCAL;
    helicone_provider azure-ish url=https://example.invalid auth=api-key;
    helicone_provider claude url=https://claude.invalid api=anthropic
                      auth=x-api-key;
    helicone_provider_key openai env=HG_TEST_CONF_KEY;
    helicone_provider_key groq file=%%DIR%%/groq.key;
    helicone_keys %%DIR%%/keys;
    helicone_auth required;
    helicone_log file path=%%DIR%%/helicone.jsonl buffer=16k flush=2s;
    helicone_log_body_max 32k;
    helicone_response_buffer 512k;
    helicone_target_allow http://127.0.0.1:%%PORT_other%% providers;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;
        helicone_auth optional;

        location /v1/ { helicone_pass gateway; }

        location /openai/ {
            rewrite ^/openai(/.*)$ $1 break;
            helicone_pass openai;
        }

        location /groq/ { helicone_auth off; helicone_pass groq; }

        location /target/ {
            helicone_pass target;
            helicone_target_allow https://api.example.com:8443 providers;
            helicone_log off;
        }

        location /mock/ { helicone_mock; }
    }

    server {
        listen 127.0.0.1:%%PORT_gw2%%;
        helicone_attempt_uri /_attempt;

        location = /_attempt {
            internal;
            proxy_pass $helicone_upstream_url;
        }

        location / { helicone_pass local; }
    }
}
EOF

my ($rc, $out) = $t->nginx_t;

is($rc, 0, 'conf - full valid config passes') or diag($out);
like($out, qr/test is successful/, 'conf - nginx says successful');
unlike($out, qr/\[(emerg|alert|crit|warn)\]/, 'conf - no warnings');

# the same config really starts
$t->run;
ok($t->can_connect($t->port('gw')), 'conf - valid config serves');
$t->stop;

$t->check_no_alerts;

# a full Redis store: names resolved now, nothing connects at -t

my $tr = HgTest->new;

$tr->write_config(config(http => <<'EOF', server => ''));
helicone_store redis url=redis://localhost:%%PORT_redis%%/2
                   password=env:HG_TEST_CONF_KEY timeout=250ms prefix=acme
                   zone=keys:1m;
    helicone_keys_redis on valid=10s;
    helicone_ratelimit_fail closed;
EOF

($rc, $out) = $tr->nginx_t;

is($rc, 0, 'conf - full redis store passes') or diag($out);
unlike($out, qr/\[(emerg|alert|crit|warn)\]/, 'conf - redis: no warnings');

done_testing;

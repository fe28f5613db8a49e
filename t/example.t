#!/usr/bin/perl

# Tests for make run: tools/run-example starts nginx.conf.example (moved
# to free ports) and a newcomer's curl works against the built-in mock,
# plain and streamed, each request logged; metrics and health answer.
# Then README's way to require a key from make key: 401 without it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $gw = $t->port('gw');
my $mock = $t->port('mock');
my $dir = $t->dir;
my $root = $t->root;

my $conf = $t->read_file("$root/nginx.conf.example");
$conf =~ s/127\.0\.0\.1:8080\b/127.0.0.1:$gw/g;
$conf =~ s/127\.0\.0\.1:8081\b/127.0.0.1:$mock/g;
unlike($conf, qr/:808[01]\b/, 'example - every fixed port moved');
like($conf, qr/^\s*listen\s+127\.0\.0\.1:$gw;/m, 'example - gateway port');

# the example includes conf/helicone_attempt.conf next to itself
mkdir "$dir/example" or die "mkdir: $!\n";
symlink "$root/conf", "$dir/example/conf" or die "symlink: $!\n";
$t->write_file('example/nginx.conf', $conf);

# a relative run directory, as make run passes build/run
my $pid = $t->spawn('sh', '-c', 'cd "$1" && exec sh "$2" "$3" "$4" run "$5"',
                    'run-example', $dir, "$root/tools/run-example",
                    $t->nginx_binary, $t->module_path,
                    "$dir/example/nginx.conf");

ok($t->wait_port($gw), 'example - started')
    or diag($t->read_file('spawn-0.out'));

my $body = '{"model": "gpt-4o-mini", '
         . '"messages": [{"role": "user", "content": "Hello"}]}';

my $r = $t->http(port => $gw, method => 'POST',
                 path => '/v1/chat/completions', body => $body,
                 headers => [ [ 'Content-Type', 'application/json' ] ]);
is($r->{status}, 200, 'curl - status');
like($r->{body}, qr/built-in mock provider/, 'curl - the mock answered');
like($r->{headers}{'helicone-id'} // '', qr/^[0-9a-f-]{36}$/,
     'curl - Helicone-Id');

(my $stream = $body) =~ s/^\{/{"stream": true, /;
$r = $t->http(port => $gw, method => 'POST',
              path => '/v1/chat/completions', body => $stream);
is($r->{status}, 200, 'curl stream - status');
like($r->{headers}{'content-type'} // '', qr{^text/event-stream},
     'curl stream - event stream');
like($r->{body}, qr/data: \[DONE\]\n\n\z/, 'curl stream - ends with [DONE]');

my @ev = $t->wait_jsonl('run/logs/helicone.jsonl', 2);
is(scalar @ev, 2, 'log - one event per request');
ok(@ev == 2 && !$ev[0]{log}{request}{isStream}
   && $ev[1]{log}{request}{isStream}, 'log - the second streamed');

$r = $t->http(port => $gw, path => '/healthz');
is($r->{status}, 200, 'health - status');

$t->wait_for(sub {
    $t->http(port => $gw, path => '/metrics')->{body}
        =~ /^helicone_requests_total\{[^}]*status="200"\} 2$/m;
});
like($t->http(port => $gw, path => '/metrics')->{body},
     qr/^helicone_requests_total\{provider="openai",model="gpt-4o-mini",status="200"\} 2$/m,
     'metrics - both requests');

$t->kill_spawned($pid);

# README's "Which key?": a key from make key, its line in the keys file
# the edited example names, auth required
my $minted = `sh '$root/tools/mint-key' my-org me`;
my ($key) = $minted =~ /^key: (\S+)$/m;
my ($line) = $minted =~ /^line: (.+)$/m;
ok($key && $line, 'make key - a key and its line') or diag($minted);

mkdir "$dir/example/build";
mkdir "$dir/example/build/run";
$t->write_file('example/build/run/helicone-keys', "$line\n");

my $auth = "helicone_keys  build/run/helicone-keys;\n"
         . "    helicone_auth  required;";
ok($conf =~ s{^(\s*)helicone_auth\s+optional;}{$1$auth}m,
   'auth - the example edited as the README says');
$t->write_file('example/nginx.conf', $conf);

$pid = $t->spawn('sh', '-c', 'cd "$1" && exec sh "$2" "$3" "$4" run "$5"',
                 'run-example', $dir, "$root/tools/run-example",
                 $t->nginx_binary, $t->module_path,
                 "$dir/example/nginx.conf");
ok($t->wait_port($gw), 'auth - started again');

$r = $t->http(port => $gw, method => 'POST',
              path => '/v1/chat/completions', body => $body);
is($r->{status}, 401, 'auth - no key, a 401');

$r = $t->http(port => $gw, method => 'POST',
              path => '/v1/chat/completions', body => $body,
              headers => [ [ 'Authorization', "Bearer $key" ] ]);
is($r->{status}, 200, 'auth - the minted key passes');

$t->kill_spawned($pid);

my $log = $t->read_file("$dir/run/logs/error.log") // '';
ok($log !~ /\[(alert|crit|emerg)\]/, 'example - no alerts')
    or diag($log);

done_testing;

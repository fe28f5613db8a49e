#!/usr/bin/perl

# Provider names resolved at run time: no "resolver" set, so the name
# servers come from the resolv.conf that helicone_resolv_conf names (a DNS
# server of the harness's on a loopback port); a name moved to another
# address is followed without a reload, the last good addresses serve
# while DNS is down, and a name that does not resolve fails as a DNS error
# naming the host. Also: nginx -t refuses a helicone_pass server without
# the attempt location.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use HgDns;
use HgProvider;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $d = $t->dir;

# one port, two addresses: where the name points decides who answers
my $port = $t->port('move');
my %mock;

for my $who (qw(a b)) {
    my $host = $who eq 'a' ? '127.0.0.2' : '127.0.0.3';

    $mock{$who} = MockLLM->start(
        name   => "mock-$who",
        host   => $host,
        port   => $port,
        log    => "$d/mock-$who.jsonl",
        parent => $$,
        handler => sub {
            { json => MockLLM::openai_completion('gpt-4o-mini',
                                                 "from $who") } },
    );
}

my $dns = HgDns->start(t => $t, names => {
    'moving.test' => '127.0.0.2',
    'spread.test' => '127.0.0.2 127.0.0.3',
    'half.test' => '127.0.0.2 127.0.0.9' });
$t->write_file('resolv.conf', "# the harness's DNS server\n"
                              . "search example.org\n"
                              . $dns->resolv_conf);

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_resolv_conf %%DIR%%/resolv.conf;

    helicone_provider moving url=http://moving.test:%%PORT_move%% auth=none;
    helicone_provider nowhere url=http://nowhere.test:%%PORT_move%%
                      auth=none;
    helicone_provider late url=http://late.test:%%PORT_move%% auth=none;
    helicone_provider spread url=http://spread.test:%%PORT_move%% auth=none;
    helicone_provider half url=http://half.test:%%PORT_move%% auth=none;
    helicone_upstream spread keepalive=0;
    helicone_upstream half keepalive=0;
    helicone_auth off;
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

sub ask { HgProvider::ask($t, $gw, $_[0]) }

sub answered_by {
    my ($r) = @_;
    my $c = $r->{json}{choices}[0]{message}{content} // '';
    return $c =~ /^from (\w)$/ ? $1 : '';
}

like($t->error_log, qr/\[notice\].*helicone upstream: no "resolver" in http\{\}, provider names go to 127\.0\.0\.1:\Q${\ $dns->port }\E from "\Q$d\E\/resolv\.conf"/,
     'resolv.conf - its name server taken, and said at notice');

# ------------------------------------------------------------- resolved

my $r = ask('moving');
is($r->{status}, 200, 'resolved - 200');
is(answered_by($r), 'a', 'resolved - the address DNS gave');
ok($dns->queries('moving.test') >= 1, 'resolved - asked our DNS server');

# ------------------------------------------------------------- addresses

# two addresses, a new connection each time: both get requests
my %by;
$by{ answered_by(ask('spread')) }++ for 1 .. 6;
is(join(' ', map { "$_=$by{$_}" } sort keys %by), 'a=3 b=3',
   'two addresses - requests spread over both');

# one of two refuses: the request goes to the other, the client sees
# nothing, and the dead one is set aside for a while
my $since = $t->log_offset;
my @half = map { my $r = ask('half'); $r->{status} . answered_by($r) } 1 .. 4;
is("@half", '200a 200a 200a 200a', 'a dead address - every request served');
ok($t->wait_log(qr/helicone upstream: 127\.0\.0\.9:$port of "half\.test" set aside for 10 s/, since => $since),
   'a dead address - set aside, and said so');
my $refused = () = $t->error_log(since => $since) =~ /connect\(\) failed/g;
is($refused, 1, 'a dead address - tried once, not again while set aside');

# ------------------------------------------------------------- moved

$dns->set('moving.test' => '127.0.0.3');

my $all_ok = 1;
my $moved = $t->wait_for(sub {
    my $r = ask('moving');
    $all_ok = 0 unless $r->{status} == 200;
    answered_by($r) eq 'b';
}, timeout => 15);

ok($moved, 'moved - followed without a reload');
ok($all_ok, 'moved - every request answered meanwhile');

my $before = scalar @{ $mock{a}->requests };
my @who = map { answered_by(ask('moving')) } 1 .. 3;
is("@who", 'b b b', 'moved - the old address no longer used');
is(scalar @{ $mock{a}->requests }, $before, 'moved - nothing more to a');

# a name nobody used for longer than its TTL past expiry: the addresses
# may be gone, so its next request waits for a fresh answer instead of
# trying them (TTL 1 s: idle 3 s is enough)
$dns->set('moving.test' => '127.0.0.2');
select undef, undef, undef, 3;
is(answered_by(ask('moving')), 'a', 'idle name - looked up again first');

# ------------------------------------------------------------- no such name

$since = $t->log_offset;
$r = ask('nowhere');
is($r->{status}, 502, 'unresolvable - 502');
is($r->{json}{error}{code}, 'upstream_failed', 'unresolvable - JSON error');
like($r->{json}{error}{message}, qr/^the provider request failed: nowhere \(gpt-4o-mini\): dns$/,
     'unresolvable - the client is told it was DNS');
ok($t->wait_log(qr/helicone upstream: DNS lookup of "nowhere\.test" failed: Host not found/, since => $since),
   'unresolvable - the log says DNS and names the host');
my $ev = $t->wait_event($r->{headers}{'helicone-id'});
is($ev->{attempts}[0]{error}, 'dns', 'unresolvable - the attempt failed on DNS');

# ------------------------------------------------------------- DNS down

$dns->stop;
$since = $t->log_offset;

$all_ok = 1;
my $told = $t->wait_for(sub {
    my $r = ask('moving');
    $all_ok = 0 unless $r->{status} == 200 && answered_by($r) eq 'a';
    $t->error_log(since => $since)
        =~ /DNS lookup of "moving\.test" failed \([^)]*\), still using its last 1 addresses/;
}, timeout => 30);

ok($told, 'DNS down - the failure is logged');
ok($all_ok, 'DNS down - the last good address keeps serving');
is(answered_by(ask('moving')), 'a', 'DNS down - still served');

my $warned = () = $t->error_log(since => $since) =~ /still using its last/g;
is($warned, 1, 'DNS down - told once per interval');

# a name first asked while DNS is down: the attempt gives up in seconds
$r = ask('late');
is($r->{status}, 502, 'DNS down, a new name - 502');
like($r->{json}{error}{message}, qr/: dns$/, 'DNS down, a new name - said');
like($t->error_log(since => $since),
     qr/DNS lookup of "late\.test" failed: Operation timed out/,
     'DNS down, a new name - the lookup timed out');

$t->stop;
$t->check_no_alerts;

$_->stop for values %mock;

# ------------------------------------------------------------- nginx -t

my $n = HgTest->new;

$n->write_config($n->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    server {
        listen 127.0.0.1:%%PORT_gw%%;
        location /v1/ { helicone_pass gateway; }
    }
}
EOF

my ($rc, $out) = $n->nginx_t;
isnt($rc, 0, 'no attempt location - nginx -t fails');
like($out, qr/helicone_pass in location "\/v1\/" needs the attempt location "\/_helicone\/attempt" in its server: add "include \/etc\/nginx\/helicone_attempt\.conf;"/,
     'no attempt location - the message names the missing include');

# resolv.conf as Debian writes it, and none at all

$n = HgTest->new;
$n->write_file('resolv.conf', "# from DHCP\nsearch lan\n"
                              . "nameserver ::1\n"
                              . "nameserver 127.0.0.1:5353 # a port\n"
                              . "nameserver fe80::1%eth0\n"
                              . "nameserver 127.0.0.9\n"
                              . "options timeout:2\n");

my $conf = <<'EOF';
http {
    %%HTTP_HEAD%%
    helicone_resolv_conf %%FILE%%;
    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;
        location /v1/ { helicone_pass gateway; }
    }
}
EOF

(my $with = $conf) =~ s/%%FILE%%/%%DIR%%\/resolv.conf/;
$n->write_config($n->conf_head . $with);
($rc, $out) = $n->nginx_t;
is($rc, 0, 'resolv.conf - nginx -t passes');
like($n->error_log . $out,
     qr/provider names go to \[::1\] 127\.0\.0\.1:5353 127\.0\.0\.9 from/,
     'resolv.conf - IPv6 bracketed, a port kept, a zone skipped');

(my $typo = $with) =~ s/(helicone_resolv_conf)/helicone_upstream opneai keepalive=8;\n    $1/;
$n->write_config($n->conf_head . $typo);
($rc, $out) = $n->nginx_t;
isnt($rc, 0, 'helicone_upstream - an unknown name fails nginx -t');
like($out, qr/helicone_upstream "opneai": no provider or origin of that name/,
     'helicone_upstream - and says which');

(my $bad = $with) =~ s/(helicone_resolv_conf)/helicone_upstream openai keepalive=x;\n    $1/;
$n->write_config($n->conf_head . $bad);
($rc, $out) = $n->nginx_t;
like($out, qr/invalid parameter "keepalive=x"/,
     'helicone_upstream - a bad value fails nginx -t');

(my $good = $with) =~ s/(helicone_resolv_conf)/helicone_upstream openai keepalive=8;\n    helicone_upstream https:\/\/api.anthropic.com:443 max_fails=2;\n    $1/;
$n->write_config($n->conf_head . $good);
($rc, $out) = $n->nginx_t;
is($rc, 0, 'helicone_upstream - a provider and an origin are known')
    or diag($out);

(my $without = $conf) =~ s/%%FILE%%/%%DIR%%\/no-such-file/;
$n->write_config($n->conf_head . $without);
($rc, $out) = $n->nginx_t;
is($rc, 0, 'no resolv.conf - nginx -t passes');
like($n->error_log . $out, qr/provider names go to 127\.0\.0\.1 from/,
     'no resolv.conf - the local host, as glibc');

done_testing;

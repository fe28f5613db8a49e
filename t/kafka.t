#!/usr/bin/perl

# Tests for helicone_log kafka against a real Kafka protocol peer
# (librdkafka's mock cluster, build/mock_cluster), read back with kcat:
# configuration errors at nginx -t, every event once under steady load,
# file and Kafka sinks together, record keys, the status counters, no
# producer in the master, and nothing lost across reload and quit under
# load.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;
use Time::HiRes qw(time);

use HgTest;
use HgKafka;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $why = HgKafka::available($t);
plan(skip_all => $why) if $why;

# ------------------------------------------------------ nginx -t errors

# its own directory: the [emerg] lines stay out of the running test's log
my $tc = HgTest->new;

sub conf_with {
    my ($http, $loc) = @_;

    $loc //= 'helicone_log kafka brokers=127.0.0.1:9 topic=t;';

    return $tc->conf_head . <<EOF;
http {
    %%HTTP_HEAD%%
    helicone_auth off;
    $http

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            $loc
        }
    }
}
EOF
}

my $conf_re = qr/ in \S+nginx\.conf:\d+$/m;

my @bad = (
    [ 'unknown property', 'helicone_kafka_property no.such.thing 1;', undef,
      qr/^nginx: \[emerg\] helicone_kafka_property: No such configuration property: "no\.such\.thing"$conf_re/m ],

    [ 'bad property value', 'helicone_kafka_property acks maybe;', undef,
      qr/^nginx: \[emerg\] helicone_kafka_property: Invalid value for configuration property "request\.required\.acks"$conf_re/m ],

    [ 'value out of range',
      'helicone_kafka_property message.timeout.ms -5;', undef,
      qr/^nginx: \[emerg\] helicone_kafka_property: Configuration property "message\.timeout\.ms" value -5 is outside allowed range 0\.\.2147483647$conf_re/m ],

    [ 'property set by the module',
      'helicone_kafka_property bootstrap.servers 127.0.0.1:9;', undef,
      qr/^nginx: \[emerg\] helicone_kafka_property: "bootstrap\.servers" is set by the module, from brokers= of helicone_log$conf_re/m ],

    [ 'log.queue is the module\'s', 'helicone_kafka_property log.queue false;',
      undef,
      qr/^nginx: \[emerg\] helicone_kafka_property: "log\.queue" is set by the module$conf_re/m ],

    [ 'acks against idempotence', 'helicone_kafka_property acks 1;', undef,
      qr/^nginx: \[emerg\] helicone_kafka_property: "acks" must be "all" while "enable\.idempotence" is true$conf_re/m ],

    [ 'properties that conflict',
      'helicone_kafka_property max.in.flight.requests.per.connection 10;',
      'helicone_log kafka brokers=127.0.0.1:9 topic=t;',
      qr/^nginx: \[emerg\] helicone_kafka_property: the producer cannot be made with these properties: .*max\.in\.flight.*$conf_re/m ],

    [ 'a CA file that is not there',
      'helicone_kafka_property security.protocol ssl;'
      . ' helicone_kafka_property ssl.ca.location /nonexistent/ca.pem;',
      'helicone_log kafka brokers=127.0.0.1:9 topic=t;',
      qr/^nginx: \[emerg\] helicone_kafka_property: the producer cannot be made with these properties: .*ca.*$conf_re/mi ],

    [ 'no topic', '', 'helicone_log kafka brokers=127.0.0.1:9;',
      qr/^nginx: \[emerg\] "helicone_log" directive needs topic=$conf_re/m ],

    [ 'no brokers', '', 'helicone_log kafka topic=t;',
      qr/^nginx: \[emerg\] "helicone_log" directive needs brokers=$conf_re/m ],

    [ 'bad topic', '', 'helicone_log kafka brokers=127.0.0.1:9 topic=a/b;',
      qr/^nginx: \[emerg\] invalid Kafka topic "a\/b": up to 249 of a-z A-Z 0-9 \. _ -$conf_re/m ],

    [ 'bad key', '',
      'helicone_log kafka brokers=127.0.0.1:9 topic=t key=model;',
      qr/^nginx: \[emerg\] invalid parameter "key=model"$conf_re/m ],

    [ 'two clusters',
      'helicone_log kafka brokers=127.0.0.1:9 topic=a;',
      'helicone_log kafka brokers=127.0.0.1:10 topic=b;',
      qr/^nginx: \[emerg\] brokers=127\.0\.0\.1:10 differ from brokers=127\.0\.0\.1:9 given before: one producer serves every topic$conf_re/m ],

    [ 'one topic, two keys',
      'helicone_log kafka brokers=127.0.0.1:9 topic=a key=org;',
      'helicone_log kafka brokers=127.0.0.1:9 topic=a;',
      qr/^nginx: \[emerg\] topic "a" is used with another key= or spool=$conf_re/m ],
);

for my $case (@bad) {
    my ($name, $http, $loc, $re) = @$case;

    $tc->write_config(conf_with($http, $loc));
    my ($rc, $out) = $tc->nginx_t;

    isnt($rc, 0, "conf - $name fails");
    like($out, $re, "conf - $name message") or diag($out);
}

$tc->write_config(conf_with(
    'helicone_kafka_property compression.codec lz4;'
    . ' helicone_kafka_property acks 1;'
    . ' helicone_kafka_property enable.idempotence false;'
    . ' helicone_kafka_flush_timeout 1s;'
    . ' helicone_kafka_spool_max_size 10m;',
    'helicone_log file path=%%DIR%%/f.jsonl;'
    . ' helicone_log kafka brokers=127.0.0.1:9 topic=t key=user'
    . ' spool=%%DIR%%/conf-spool/;'));

my ($rc, $out) = $tc->nginx_t;
is($rc, 0, 'conf - valid Kafka config passes') or diag($out);
ok(-d $tc->dir . '/conf-spool', 'conf - nginx -t made the spool directory');

# ------------------------------------------------------------- running

my $kafka = HgKafka->start($t, brokers => 1, partitions => 3,
                           topics => [ 'helicone', 'by-org', 'by-user' ]);
my $brokers = $kafka->bootstrap;

my $key = 'sk-helicone-kafka-test';
my $org = 'org-kafka-1';
$t->write_file('keys', sha256_hex("Bearer $key") . " $org tests\n");

my $conf = $t->conf_head . <<'EOF';
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_mock%% auth=none;
    helicone_keys %%DIR%%/keys;
    helicone_auth optional;
    helicone_kafka_property linger.ms 1;

    helicone_log file path=%%DIR%%/helicone.jsonl;
    helicone_log kafka brokers=@BROKERS@ topic=helicone spool=%%DIR%%/spool;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }

        location /org/ {
            helicone_pass gateway;
            helicone_log kafka brokers=@BROKERS@ topic=by-org key=org;
        }

        location /user/ {
            helicone_pass gateway;
            helicone_log kafka brokers=@BROKERS@ topic=by-user key=user;
        }

        location = /kafka-status {
            helicone_kafka_status;
        }

        location = /metrics {
            helicone_metrics;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_mock%%;
        location / { helicone_mock; }
    }
}
EOF

$conf =~ s/\@BROKERS\@/$brokers/g;
$t->write_config($conf);
$t->run;

my $gw = $t->port('gw');
my $body = { model => 'gpt-4o-mini',
             messages => [ { role => 'user', content => 'hi' } ] };

sub call {
    my (%a) = @_;
    return $t->chat(port => $gw, json => $body, %a);
}

# ------------------------------------------------- one producer per worker

# a worker that has just forked may not have its title yet
my $worker = $t->wait_for(sub { ($t->worker_pids)[0] }, timeout => 5);
my @master_threads = glob('/proc/' . $t->nginx_pid . '/task/*');
my $worker_threads = $t->wait_for(sub {
    my @w = glob("/proc/$worker/task/*");
    @w > 1 ? scalar @w : undef;
}, timeout => 5);

is(scalar @master_threads, 1, 'process - the master has no librdkafka '
                              . 'threads');
ok($worker_threads, 'process - the worker runs the producer');

# ---------------------------------------------------------- steady load

my $n = 200;
my @ids;

for (1 .. $n) {
    my $r = call();
    push @ids, $r->{headers}{'helicone-id'} if ($r->{status} // 0) == 200;
}

is(scalar @ids, $n, "steady - $n requests served");

my ($missing, $dups, $counts) = $kafka->wait_ids('helicone', \@ids);

is(scalar @$missing, 0, 'steady - every request id consumed')
    or diag("missing: @$missing[0 .. 4]");
is($dups, 0, 'steady - each once');

my @records = $kafka->records('helicone');
is(scalar(grep { $_->{key} ne ($_->{json}{id} // '') } @records), 0,
   'steady - the record key is the request id');
is(scalar(grep { ($_->{json}{schema_version} // 0) != 1 } @records), 0,
   'steady - every record has schema_version 1');

my %in_file = map { $_->{id} => 1 } $t->wait_jsonl('helicone.jsonl', $n);
is(scalar(grep { !$in_file{$_} } @ids), 0,
   'file and kafka - the file sink got every event too');

# delivery reports reach the worker on its next poll
my $st = $t->wait_for(sub {
    my $s = HgKafka::status($t, $gw);
    ($s->{delivered} // 0) >= $n ? $s : undef;
}, timeout => 5) // HgKafka::status($t, $gw);

is($st->{delivered}, $n, 'status - delivered counted');
is($st->{produced}, $n, 'status - produced counted');
is($st->{failed} + $st->{spooled} + $st->{dropped}, 0,
   'status - no failure');
is($st->{pid}, $worker, 'status - of this worker');

# the same counts in the metrics, summed over workers (one here)
my $metrics = $t->http(port => $gw, path => '/metrics')->{body} // '';
my %kafka = $metrics =~ /^helicone_kafka_(\w+)_total (\d+)$/mg;
is($kafka{delivered}, $n, 'metrics - delivered');
is($kafka{produced}, $n, 'metrics - produced');
is($kafka{failed} + $kafka{spooled} + $kafka{dropped}, 0,
   'metrics - no failure');

# ------------------------------------------------------------ record keys

my $r = call(path => '/org/v1/chat/completions',
             headers => [ [ 'Authorization', "Bearer $key" ] ]);
my $org_id = $r->{headers}{'helicone-id'};

$r = call(path => '/org/v1/chat/completions');
my $anon_id = $r->{headers}{'helicone-id'};

$r = call(path => '/user/v1/chat/completions',
          headers => [ [ 'Helicone-User-Id', 'al"ice' ] ]);
my $user_id = $r->{headers}{'helicone-id'};

$kafka->wait_ids('by-org', [ $org_id, $anon_id ]);
my %by_id = map { ($_->{json}{id} // '') => $_ } $kafka->records('by-org');

is($by_id{$org_id}{key}, $org, 'key=org - the organization id');
is($by_id{$anon_id}{key}, $anon_id, 'key=org - the request id without one');

$kafka->wait_ids('by-user', [ $user_id ]);
%by_id = map { ($_->{json}{id} // '') => $_ } $kafka->records('by-user');
is($by_id{$user_id}{key}, 'al"ice', 'key=user - the user id, unescaped');

# --------------------------------------------------- reload under load

my $load = HgKafka::load_start($t, port => $gw, clients => 3);

$t->wait_for(sub { HgKafka::load_count($t, $load) >= 100 }, timeout => 10);
$t->reload;
my $mark = HgKafka::load_count($t, $load);
$t->wait_for(sub { HgKafka::load_count($t, $load) >= $mark + 100 },
             timeout => 10);
$t->reload;
$mark = HgKafka::load_count($t, $load);
$t->wait_for(sub { HgKafka::load_count($t, $load) >= $mark + 100 },
             timeout => 10);

my ($ok, $other) = HgKafka::load_stop($t, $load);

cmp_ok(scalar @$ok, '>=', 300, 'reload - load served');
diag("reload: " . scalar(@$ok) . " answered 200, $other other")
    if $ENV{TEST_VERBOSE};

($missing, $dups) = $kafka->wait_ids('helicone', $ok, timeout => 20);
is(scalar @$missing, 0, 'reload - every id answered 200 consumed')
    or diag(scalar(@$missing) . " missing, e.g. $missing->[0]");
diag("reload: $dups duplicates") if $dups;

# ----------------------------------------------------- quit under load

$load = HgKafka::load_start($t, port => $gw, clients => 3);
$t->wait_for(sub { HgKafka::load_count($t, $load) >= 100 }, timeout => 10);

my $t0 = time;
$t->stop;
my $quit_time = time - $t0;

($ok, $other) = HgKafka::load_stop($t, $load);
cmp_ok(scalar @$ok, '>=', 100, 'quit - load served');
cmp_ok($quit_time, '<', 5, 'quit - nginx quits at once');

($missing, $dups) = $kafka->wait_ids('helicone', $ok, timeout => 10);

if (@$missing) {
    # whatever did not make it waits in the spool: a new start replays it
    diag(scalar(@$missing) . ' missing after quit, restarting to replay');
    $t->run;
    ($missing, $dups) = $kafka->wait_ids('helicone', $ok, timeout => 15);
    $t->stop;
}

is(scalar @$missing, 0, 'quit - every id answered 200 consumed')
    or diag(scalar(@$missing) . " missing, e.g. $missing->[0]");
diag("quit: $dups duplicates") if $dups;

like($t->error_log, qr/\[notice\] .*helicone kafka: exit: \d+ produced, \d+ delivered, 0 failed, 0 queue full, 0 spooled, 0 replayed, 0 dropped/,
     'exit - the counters are logged');

$t->check_no_alerts;

$kafka->stop;

done_testing;

#!/usr/bin/perl

# Tests for helicone_log kafka in a three-broker cluster: under load, the
# leader of every partition goes down and leadership moves to another
# broker; every request id answered 200 is consumed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use HgKafka;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $why = HgKafka::available($t);
plan(skip_all => $why) if $why;

my $kafka = HgKafka->start($t, brokers => 3, partitions => 3,
                           topics => [ 'helicone' ]);
my $brokers = $kafka->bootstrap;

my $conf = $t->conf_head . <<'EOF';
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_mock%% auth=none;
    helicone_auth off;
    helicone_kafka_property linger.ms 1;
    helicone_kafka_property topic.metadata.refresh.interval.ms 1000;
    helicone_kafka_property reconnect.backoff.max.ms 200;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            helicone_log kafka brokers=@BROKERS@ topic=helicone
                               spool=%%DIR%%/spool;
        }

        location = /kafka-status {
            helicone_kafka_status;
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

my $load = HgKafka::load_start($t, port => $gw, clients => 2);

$t->wait_for(sub { HgKafka::load_count($t, $load) >= 100 }, timeout => 10);

# broker 1 dies; its partitions get a leader among the others
$kafka->command('down 1');
$kafka->command("leader $_ 2") for 0 .. 2;

my $mark = HgKafka::load_count($t, $load);
$t->wait_for(sub { HgKafka::load_count($t, $load) >= $mark + 200 },
             timeout => 10);

# and the new leader of one partition dies too
$kafka->command('up 1');
$kafka->command('leader 1 3');
$kafka->command('down 2');
$kafka->command('leader 0 1');
$kafka->command('leader 2 3');

$mark = HgKafka::load_count($t, $load);
$t->wait_for(sub { HgKafka::load_count($t, $load) >= $mark + 200 },
             timeout => 10);

my ($ok) = HgKafka::load_stop($t, $load);
cmp_ok(scalar @$ok, '>=', 500, 'leader loss - load served');

my ($missing, $dups) = $kafka->wait_ids('helicone', $ok, timeout => 20);

is(scalar @$missing, 0, 'leader loss - every id answered 200 consumed')
    or diag(scalar(@$missing) . " missing, e.g. $missing->[0]");
diag("leader loss: " . scalar(@$ok) . " events, $dups duplicates")
    if $dups || $ENV{TEST_VERBOSE};

my %partitions = map { $_->{partition} => 1 } $kafka->records('helicone');
is(scalar keys %partitions, 3, 'leader loss - all partitions used');

my $st = HgKafka::status($t, $gw);
is($st->{dropped}, 0, 'leader loss - nothing dropped');

$t->stop;
$t->check_no_alerts;

$kafka->stop;

done_testing;

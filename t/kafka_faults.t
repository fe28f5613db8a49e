#!/usr/bin/perl

# Tests for helicone_log kafka when the cluster fails: a broker down
# while requests come (deliveries time out into the spool and are
# produced again once it is back); a topic without spool (the events are
# counted and logged as lost); a reload while the broker is down (the
# old worker's flush is bounded, its purged events go to its spool file,
# and a worker of the new generation claims the orphan and replays it);
# a fatal producer error (a new producer, nothing lost); a full producer
# queue (spooled at once); a fast shutdown while the broker is down (the
# purge beats the master's KILL).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use HgTest;
use HgKafka;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $why = HgKafka::available($t);
plan(skip_all => $why) if $why;

my $kafka = HgKafka->start($t, brokers => 1, partitions => 2,
                           topics => [ 'helicone', 'nospool' ]);

my $template = $t->conf_head . <<'EOF';
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_mock%% auth=none;
    helicone_auth off;
    helicone_kafka_property linger.ms 1;
    helicone_kafka_property message.timeout.ms @TIMEOUT@;
    helicone_kafka_property reconnect.backoff.max.ms 200;
    helicone_kafka_flush_timeout 500ms;
    @QUEUE@

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            helicone_log kafka brokers=@BROKERS@ topic=helicone
                               spool=%%DIR%%/spool;
        }

        location /nospool/ {
            helicone_pass gateway;
            helicone_log kafka brokers=@BROKERS@ topic=nospool;
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

sub config {
    my ($timeout, $max) = @_;
    my $c = $template;
    my $b = $kafka->bootstrap;
    my $queue = $max ? "helicone_kafka_property queue.buffering.max.messages"
                       . " $max;" : '';
    $c =~ s/\@BROKERS\@/$b/g;
    $c =~ s/\@TIMEOUT\@/$timeout/g;
    $c =~ s/\@QUEUE\@/$queue/g;
    return $c;
}

# deliveries that fail after 1.5 s: into the spool quickly
$t->write_config(config(1500));
$t->run;

my $gw = $t->port('gw');
my $body = { model => 'gpt-4o-mini',
             messages => [ { role => 'user', content => 'hi' } ] };

sub call {
    my ($path) = @_;
    my $r = $t->chat(port => $gw, json => $body,
                     path => $path // '/v1/chat/completions');
    return ($r->{status} // 0) == 200 ? $r->{headers}{'helicone-id'} : undef;
}

sub status { HgKafka::status($t, $gw) }

sub spool_files {
    opendir my $dh, $t->dir . '/spool' or return ();
    return sort grep { !/^\./ } readdir $dh;
}

sub spool_disk_bytes {
    my $n = 0;
    $n += -s $t->dir . "/spool/$_" // 0 for spool_files();
    return $n;
}

# a gauge of /metrics, summed over the live workers
sub gauge {
    my ($name) = @_;
    my ($v) = ($t->http(port => $gw, path => '/metrics')->{body} // '')
              =~ /^helicone_kafka_${name} (-?\d+)$/m;
    return $v // -1;
}

# -------------------------------------------------------- broker down

my $warm = call();
my ($missing) = $kafka->wait_ids('helicone', [ $warm ]);
is(scalar @$missing, 0, 'down - the first event is delivered');

my $off = $t->log_offset;

$kafka->command('down 1');

my $n = 40;
my @ids = grep { defined } map { call() } 1 .. $n;
is(scalar @ids, $n, 'down - requests are served while the broker is down');

my @lost = grep { defined } map { call('/nospool/v1/chat/completions') }
                            1 .. 2;

my $st = $t->wait_for(sub {
    my $s = status();
    ($s->{spooled} // 0) >= $n && ($s->{dropped} // 0) >= 2 ? $s : undef;
}, timeout => 10) // status();

is($st->{spooled}, $n, 'down - failed deliveries are spooled');
is($st->{dropped}, 2, 'down - without spool= they are lost, and counted');
is($st->{failed}, $n + 2, 'down - failed deliveries counted');
ok(!$st->{healthy}, 'down - the producer knows deliveries fail');

# the worker's own file, or already claimed by its replay timer
my @files = spool_files();
is(scalar(grep { !/^helicone\.\d+\.(?:jsonl|\d+\.0\.replay)$/ } @files), 0,
   'down - the worker\'s spool file') or diag("@files");
my @lines = map { split /\n/, $t->read_file("spool/$_") // '' } @files;
is(scalar @lines, $n, 'down - one line per event');
is_deeply([ sort map { HgTest::json_decode($_)->{id} } @lines ],
          [ sort @ids ], 'down - the spool has the events');

# the gauge counts what this worker holds on disk, also once its replay
# timer has claimed the file (and probes with one line at a time)
my $claimed = $t->wait_for(sub { grep { /\.replay$/ } spool_files() },
                           timeout => 5);
ok($claimed, 'down - the replay timer claims the spool file');
my ($held, $disk);
ok($t->wait_for(sub {
       $disk = spool_disk_bytes();
       $held = gauge('spool_bytes');
       # one line at most is out, in the producer's queue
       $held > 0 && $held <= $disk && $held >= $disk - length($lines[0]) - 1
   }, timeout => 5),
   'down - helicone_kafka_spool_bytes counts the claimed file')
    or diag("gauge $held, on disk $disk");

ok($t->wait_log(qr/\[warn\] .*helicone kafka: \d+ events not delivered \(Local: Message timed out\)/, since => $off),
   'down - the failure is logged');
ok($t->wait_log(qr/\[error\] .*helicone kafka: \d+ events lost: no spool= is set/, since => $off),
   'down - the loss is logged');

$kafka->command('up 1');

my $dups;
($missing, $dups) = $kafka->wait_ids('helicone', [ $warm, @ids ],
                                     timeout => 15);

is(scalar @$missing, 0, "up - all $n ids consumed after the broker is back")
    or diag(scalar(@$missing) . " missing");
diag("broker down: $dups duplicates") if $dups;

ok($t->wait_for(sub { !spool_files() }, timeout => 5),
   'up - the replayed spool file is deleted');
ok($t->wait_for(sub { gauge('spool_bytes') == 0
                      && gauge('queue_length') == 0 }, timeout => 5),
   'up - the spool and queue gauges are back to 0');
ok($t->wait_log(qr/\[notice\] .*helicone kafka: replaying ".*\/spool\/helicone\.(?<p>\d+)\.jsonl" as ".*\/spool\/helicone\.\k<p>\.\d+\.0\.replay" from byte 0/, since => $off),
   'up - the worker claims its own spool file');
ok($t->wait_log(qr/\[notice\] .*helicone kafka: replayed ".*\/spool\/helicone\.\d+\.\d+\.0\.replay"/, since => $off),
   'up - the replay is logged');

$st = $t->wait_for(sub {
    my $s = status();
    $s->{healthy} ? $s : undef;
}, timeout => 5) // status();

# a line produced while the broker was still down is produced again
cmp_ok($st->{replayed}, '>=', $n, 'up - replayed counted');
ok($st->{healthy}, 'up - healthy again');

# ------------------------------------------ an orphan replayed in part

# as a worker leaves a file it was replaying: the lines before the offset
# in its name are done; an invalid and a cut line are dropped
my @done = map { sprintf 'd0000000-0000-4000-8000-%012d', $_ } 1 .. 5;
my @todo = map { sprintf 'e0000000-0000-4000-8000-%012d', $_ } 1 .. 5;
my $line = sub {
    qq({"schema_version":1,"id":"$_[0]","organizationId":null}\n);
};
my $head = join '', map { $line->($_) } @done;
my $dead = 4_000_000;
$dead++ while kill 0, $dead;

$off = $t->log_offset;
my $dropped = status()->{dropped};

$t->write_file('spool/helicone.tmp',
               $head . join('', map { $line->($_) } @todo)
               . "not json\n" . '{"schema_version":1,"id":"cut');
rename $t->dir . '/spool/helicone.tmp',
       $t->dir . "/spool/helicone.$dead.7." . length($head) . '.replay';

($missing) = $kafka->wait_ids('helicone', \@todo, timeout => 10);
is(scalar @$missing, 0, 'orphan - the lines after the offset are produced');

my $counts = $kafka->id_counts('helicone');
is(scalar(grep { $counts->{$_} } @done), 0,
   'orphan - the lines before it are not');
ok($t->wait_log(qr/helicone kafka: replaying ".*\/helicone\.$dead\.7\.\d+\.replay" as ".*\/helicone\.\d+\.\d+\.\d+\.replay" from byte @{[ length $head ]}/,
                since => $off),
   'orphan - claimed from a dead worker');
ok($t->wait_for(sub { !spool_files() }, timeout => 5),
   'orphan - deleted when done');
is(status()->{dropped} - $dropped, 2,
   'orphan - the invalid and the cut line are dropped');

# ----------------------------------------- reload while the broker is down

# deliveries do not time out now: the events wait in the producer's queue
$t->write_config(config(60000));
$t->reload(wait_old => 1);

$kafka->command('down 1');

my @queued = grep { defined } map { call() } 1 .. 20;
is(scalar @queued, 20, 'reload - requests served while the broker is down');

# deliveries wait for a minute now: the events are in the queue
ok($t->wait_for(sub { gauge('queue_length') >= 20 }, timeout => 5),
   'reload - helicone_kafka_queue_length counts the waiting events');

my $old = $t->wait_for(sub { ($t->worker_pids)[0] }, timeout => 5) // 0;
$off = $t->log_offset;
my $t0 = time;
$t->reload;

my $gone = $t->wait_for(sub { !kill 0, $old }, timeout => 10);
my $exit_time = time - $t0;

ok($gone, 'reload - the old worker exits');
cmp_ok($exit_time, '<', 3, 'reload - within the flush timeout');

ok($t->wait_log(qr/\[warn\] $old#\d+: helicone kafka: 20 events not delivered in 500 ms, purged/, since => $off),
   'reload - the purge is logged');

my $new = $t->wait_for(sub { (grep { $_ != $old } $t->worker_pids)[0] },
                       timeout => 5) // 0;

# the new worker may have claimed it already: it probes while down
ok($t->wait_log(qr/\[notice\] $new#\d+: helicone kafka: replaying ".*\/spool\/helicone\.$old\.jsonl" as ".*\/spool\/helicone\.$new\.\d+\.0\.replay" from byte 0/, since => $off),
   'reload - a new worker claims the old worker\'s spool file');

$kafka->command('up 1');

($missing, $dups) = $kafka->wait_ids('helicone', \@queued, timeout => 15);
is(scalar @$missing, 0, 'reload - all purged events consumed after up')
    or diag(scalar(@$missing) . " missing");
diag("reload while down: $dups duplicates") if $dups;

ok($t->wait_for(sub { !spool_files() }, timeout => 5),
   'reload - and deleted it when done');

# ------------------------------------------------------- fatal error

# an idempotent producer out of sequence with the broker cannot go on
$off = $t->log_offset;
$kafka->command('error 3 45');

my @fatal = grep { defined } map { call() } 1 .. 20;

($missing, $dups) = $kafka->wait_ids('helicone', \@fatal, timeout => 15);
is(scalar @$missing, 0, 'fatal - every event consumed')
    or diag(scalar(@$missing) . " missing");
diag("fatal error: $dups duplicates") if $dups;

ok($t->wait_log(qr/\[error\] .*helicone kafka: fatal error: .*, making a new producer/, since => $off),
   'fatal - logged, and the producer made again');

# ------------------------------------------------ too large for the broker

# a broker that refuses the record for its size: spooling would not help
$off = $t->log_offset;
$dropped = status()->{dropped};
$kafka->command('error 1 10');

my $large = call();

ok($t->wait_for(sub { status()->{dropped} > $dropped }, timeout => 5),
   'too large - dropped, not spooled');
ok($t->wait_log(qr/\[error\] .*helicone kafka: 1 events lost: an event larger than the broker takes/,
                since => $off),
   'too large - logged');

# ---------------------------------- a full queue, then a fast shutdown

# the producer holds 5 events at most
$t->write_config(config(60000, 5));
$t->reload(wait_old => 1);

$kafka->command('down 1');

my @term = grep { defined } map { call() } 1 .. 10;
is(scalar @term, 10, 'queue full - requests served while the broker is down');

$st = status();
is($st->{queue_full}, 5, 'queue full - the events past the queue refused');
is($st->{spooled}, 5, 'queue full - and spooled at once');
# (queued counts pending log lines and reports too)
cmp_ok($st->{queued}, '>=', 5, 'queue full - the queue holds the rest');

$off = $t->log_offset;
my $master = $t->nginx_pid;
kill 'TERM', $master;
ok($t->wait_for(sub { waitpid($master, POSIX::WNOHANG()) == $master },
                timeout => 10), 'term - nginx stops');
$t->{pid} = undef;

like($t->error_log(since => $off),
     qr/helicone kafka: 5 events not delivered in 500 ms, purged/,
     'term - the flush is cut short, before the master\'s KILL');

my %spooled = map { (HgTest::json_decode($_)->{id} // '') => 1 }
              map { split /\n/, $t->read_file("spool/$_") // '' }
              spool_files();
is(scalar(grep { !$spooled{$_} } @term), 0,
   'term - the events are in the spool');

$kafka->command('up 1');
$t->run;

($missing, $dups) = $kafka->wait_ids('helicone', \@term, timeout => 15);
is(scalar @$missing, 0, 'term - consumed after a new start')
    or diag(scalar(@$missing) . " missing");

# ------------------------------------- a worker killed with events queued

# KILL leaves no time to spool: what waits in the producer's memory goes
# with the worker (docs/operations.md); the next worker carries on
$kafka->command('down 1');

my @killed = grep { defined } map { call() } 1 .. 4;
is(scalar @killed, 4, 'kill - requests served while the broker is down');
ok($t->wait_for(sub { gauge('queue_length') >= 4 }, timeout => 5),
   'kill - the events wait in the queue');

my $victim = ($t->worker_pids)[0];
kill 'KILL', $victim;
ok($t->wait_for(sub { my @w = grep { $_ != $victim } $t->worker_pids; @w },
                timeout => 10), 'kill - the master starts a new worker');
ok($t->wait_for(sub { gauge('queue_length') == 0 }, timeout => 5),
   'kill - the dead worker\'s queue no longer counts');

$kafka->command('up 1');

my @after = grep { defined } map { call() } 1 .. 4;
($missing) = $kafka->wait_ids('helicone', \@after, timeout => 15);
is(scalar @$missing, 0, 'kill - the new worker\'s events are consumed');
$counts = $kafka->id_counts('helicone');
is(scalar(grep { $counts->{$_} } @killed), 0,
   'kill - the killed worker\'s queued events are lost');

$t->stop;

unlike($t->error_log, qr/neither delivered nor spooled/,
       'exit - nothing left behind');

$t->check_no_alerts(except => qr/worker process $victim exited on signal 9/);

$kafka->stop;

done_testing;

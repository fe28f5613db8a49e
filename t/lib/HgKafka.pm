package HgKafka;

# A Kafka cluster for the tests: build/mock_cluster (librdkafka's mock
# cluster on loopback, the real protocol), driven by commands on its
# stdin, and read back with kcat. Also a load generator that records the
# request id of every answer it got.

use strict;
use warnings;

use IO::Handle;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(time sleep);

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

my $SEQ = 0;

sub binary {
    my ($t) = @_;
    return $t->root . '/build/mock_cluster';
}

sub available {
    my ($t) = @_;
    return 'build/mock_cluster not built (make)' unless -x binary($t);
    return 'kcat not installed' unless grep { -x "$_/kcat" }
                                       split /:/, $ENV{PATH} // '';
    return undef;
}

# HgKafka->start($t, brokers => 1, partitions => 1, topics => ['t'])
sub start {
    my ($class, $t, %opt) = @_;

    my $n = $SEQ++;
    my $out = $t->dir . "/kafka-$n.out";
    my @topics = @{ $opt{topics} // ['helicone'] };

    pipe(my $r, my $w) or die "pipe: $!\n";

    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        close $w;
        open STDIN, '<&', $r;
        open STDOUT, '>', $out;
        open STDERR, '>', "$out.err";
        { no warnings q(exec);
          exec binary($t), $opt{brokers} // 1, $opt{partitions} // 1,
                           @topics; }
        POSIX::_exit(127);
    }

    close $r;
    $w->autoflush(1);
    POSIX::setpgid($pid, $pid);

    # HgTest's cleanup ends it with the test
    push @{ $t->{spawned} }, $pid;

    my $self = bless {
        t       => $t,
        pid     => $pid,
        w       => $w,
        out     => $out,
        topics  => \@topics,
    }, $class;

    my $bootstrap = $t->wait_for(sub {
        my $text = HgTest::_slurp($out) // '';
        $text =~ /^bootstrap (\S+)$/m ? $1 : undef;
    }, timeout => 10);

    die "mock_cluster did not start: "
        . (HgTest::_slurp("$out.err") // '') . "\n" unless $bootstrap;

    $self->{bootstrap} = $bootstrap;
    $self->{brokers} = [ split /,/, $bootstrap ];

    return $self;
}

sub bootstrap { $_[0]{bootstrap} }

# "down 1", "up 1", "leader 0 2": dies unless the cluster says ok
sub command {
    my ($self, $cmd) = @_;
    my $t = $self->{t};

    my $before = () = (HgTest::_slurp($self->{out}) // '')
                      =~ /^(?:ok|error.*)$/mg;

    print { $self->{w} } "$cmd\n";

    my $reply = $t->wait_for(sub {
        my @r = (HgTest::_slurp($self->{out}) // '')
                =~ /^(ok|error.*)$/mg;
        @r > $before ? $r[$before] : undef;
    }, timeout => 5);

    die "mock_cluster: \"$cmd\": " . ($reply // 'no answer') . "\n"
        unless defined $reply && $reply eq 'ok';

    return 1;
}

# whether a broker (1-based) accepts connections; down brokers refuse
sub broker_port {
    my ($self, $n) = @_;
    my ($port) = $self->{brokers}[$n - 1] =~ /:(\d+)$/;
    return $port;
}

# every record of the topic from the beginning: [ { key, partition, value,
# json } ], in partition order
sub records {
    my ($self, $topic) = @_;
    my $t = $self->{t};
    my $out = $t->dir . "/kcat.out";

    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>', "$out.err";
        { no warnings q(exec);
          exec 'kcat', '-b', $self->{bootstrap}, '-t', $topic,
               '-C', '-e', '-o', 'beginning', '-q',
               '-f', '%p\t%k\t%s\n',
               '-X', 'fetch.wait.max.ms=10',
               '-X', 'topic.metadata.refresh.interval.ms=100'; }
        POSIX::_exit(127);
    }

    my $deadline = time + 15;

    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid $pid, 0;
            Test::More::diag("kcat did not finish in 15s");
            last;
        }
        sleep 0.01;
    }

    my @records;

    for my $line (split /\n/, HgTest::_slurp($out) // '') {
        my ($p, $k, $v) = split /\t/, $line, 3;
        next unless defined $v;
        my $json = eval { $JSON->decode($v) };
        push @records, { partition => $p, key => $k, value => $v,
                         json => $json };
    }

    return @records;
}

# request id => times seen in the topic
sub id_counts {
    my ($self, $topic) = @_;
    my %n;

    for my $r ($self->records($topic)) {
        $n{ $r->{json}{id} // 'invalid' }++;
    }

    return \%n;
}

# polls the topic until every id is there: (missing ids, duplicates)
sub wait_ids {
    my ($self, $topic, $ids, %opt) = @_;
    my $t = $self->{t};
    my ($counts, @missing);

    $t->wait_for(sub {
        $counts = $self->id_counts($topic);
        @missing = grep { !$counts->{$_} } @$ids;
        !@missing;
    }, timeout => $opt{timeout} // 15, interval => 0.2);

    my $dups = 0;
    $dups += $counts->{$_} - 1 for grep { $counts->{$_} } @$ids;

    return (\@missing, $dups, $counts);
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    local $?;

    print { $self->{w} } "quit\n";
    close $self->{w};

    my $deadline = time + 5;
    while (waitpid($self->{pid}, WNOHANG) == 0 && time < $deadline) {
        sleep 0.01;
    }

    $self->{t}->kill_spawned($self->{pid});
    $self->{pid} = undef;
}

# ---------------------------------------------------------------- load

# Starts $n processes that send chat requests to $port until stopped,
# each writing "<status> <Helicone-Id>" lines to a file of its own.
sub load_start {
    my ($t, %opt) = @_;
    my $n = $opt{clients} // 2;
    my $path = $opt{path} // '/v1/chat/completions';
    my @pids;

    my $body = $JSON->encode({ model => $opt{model} // 'gpt-4o-mini',
                               messages => [ { role => 'user',
                                               content => 'hi' } ] });

    my $run = $SEQ++;
    my @files = map { $t->dir . "/load-$run-$_.txt" } 1 .. $n;

    for my $file (@files) {
        my $pid = fork // die "fork: $!\n";

        if ($pid == 0) {
            my $stop = 0;
            $SIG{TERM} = sub { $stop = 1 };
            open my $fh, '>', $file or POSIX::_exit(1);
            $fh->autoflush(1);

            while (!$stop) {
                my $r = $t->http(port => $opt{port}, method => 'POST',
                                 path => $path, body => $body,
                                 headers => [ [ 'Content-Type',
                                                'application/json' ] ],
                                 timeout => 5);
                my $status = $r->{status} // 0;
                my $id = $r->{headers}{'helicone-id'} // '-';
                print $fh "$status $id\n";
                sleep 0.05 unless $status;
            }

            close $fh;
            POSIX::_exit(0);
        }

        push @pids, $pid;
    }

    return { pids => \@pids, files => \@files };
}

# stops the load: the ids answered 200, and how many requests got another
# answer (or none)
sub load_stop {
    my ($t, $load) = @_;
    local $?;

    kill 'TERM', @{ $load->{pids} };
    waitpid $_, 0 for @{ $load->{pids} };

    my (@ok, $other);
    $other = 0;

    for my $file (@{ $load->{files} }) {
        for my $line (split /\n/, HgTest::_slurp($file) // '') {
            my ($status, $id) = split / /, $line;
            if ($status == 200 && $id ne '-') {
                push @ok, $id;
            } else {
                $other++;
            }
        }
    }

    return (\@ok, $other);
}

# the lines answered so far, while the load runs
sub load_count {
    my ($t, $load) = @_;
    my $n = 0;

    for my $file (@{ $load->{files} }) {
        my $text = HgTest::_slurp($file) // '';
        $n += () = $text =~ /^200 /mg;
    }

    return $n;
}

# the worker's helicone_kafka_status
sub status {
    my ($t, $port, $path) = @_;
    my $r = $t->http(port => $port, path => $path // '/kafka-status');
    return eval { $JSON->decode($r->{body}) } // {};
}

1;

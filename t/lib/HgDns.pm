package HgDns;

# A DNS server for tests, on a loopback UDP port: A records from a hosts
# file ("name address" lines) read again for every query, so a test moves a
# name by rewriting the file. Unknown names get NXDOMAIN, AAAA queries an
# empty answer. Every query is counted in a log file, one name a line.

use strict;
use warnings;

use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

sub start {
    my ($class, %o) = @_;
    my $t = $o{t};

    my $self = bless {
        port  => $o{port} // $t->port('dns'),
        hosts => $t->path($o{hosts} // 'dns-hosts'),
        log   => $t->path($o{log} // 'dns-queries.log'),
        ttl   => $o{ttl} // 1,
    }, $class;

    $self->set(%{ $o{names} // {} });

    my $sock = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1',
        LocalPort => $self->{port},
        Proto     => 'udp',
    ) or die "dns: cannot bind udp port $self->{port}: $!\n";

    my $parent = $$;
    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        $0 = "hg-dns $self->{port}";
        eval { $self->_serve($sock, $parent) };
        POSIX::_exit(0);
    }

    close $sock;
    $self->{pid} = $pid;

    return $self;
}

sub port { $_[0]{port} }

# resolv.conf lines for the module's helicone_resolv_conf: the port is an
# extension of the module's, glibc takes none
sub resolv_conf { "nameserver 127.0.0.1:$_[0]{port}\n" }

sub set {
    my ($self, %names) = @_;
    my $tmp = "$self->{hosts}.tmp";

    open my $fh, '>', $tmp or die "$tmp: $!\n";
    print $fh "$_ $names{$_}\n" for sort keys %names;
    close $fh;
    rename $tmp, $self->{hosts} or die "rename: $!\n";
}

sub queries {
    my ($self, $name) = @_;
    open my $fh, '<', $self->{log} or return 0;
    return scalar grep { chomp; $_ eq $name } <$fh>;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;

    kill 'TERM', $pid;
    my $deadline = time + 5;
    while (waitpid($pid, WNOHANG) == 0 && time < $deadline) {
        sleep 0.01;
    }
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

sub DESTROY { $_[0]->stop }

sub _serve {
    my ($self, $sock, $parent) = @_;

    while (1) {
        POSIX::_exit(0) if getppid() != $parent;

        my $rin = '';
        vec($rin, fileno $sock, 1) = 1;
        next unless select(my $rout = $rin, undef, undef, 0.5);

        my $peer = recv($sock, my $q, 512, 0) // next;
        my $a = $self->_answer($q) // next;
        send($sock, $a, 0, $peer);
    }
}

sub _answer {
    my ($self, $q) = @_;

    return undef if length $q < 17;

    my ($id, $flags) = unpack 'n n', $q;

    # the question: labels, then type and class
    my ($off, @labels) = (12);
    while (1) {
        my $len = ord substr($q, $off, 1);
        last if $len == 0 || $off + 1 + $len > length $q;
        push @labels, substr($q, $off + 1, $len);
        $off += 1 + $len;
    }
    $off++;
    return undef if $off + 4 > length $q;

    my ($type) = unpack 'n', substr($q, $off, 2);
    my $question = substr($q, 12, $off + 4 - 12);
    my $name = lc join '.', @labels;

    if (open my $fh, '>>', $self->{log}) {
        print $fh "$name\n";
        close $fh;
    }

    my %hosts;
    if (open my $fh, '<', $self->{hosts}) {
        while (<$fh>) {
            my ($n, @addrs) = split;
            $hosts{ lc $n } = \@addrs if defined $n;
        }
    }

    my @answers;
    my $rcode = 0;

    if (!$hosts{$name}) {
        $rcode = 3;

    } elsif ($type == 1) {
        for my $addr (@{ $hosts{$name} }) {
            push @answers, pack('n n n N n', 0xc00c, 1, 1, $self->{ttl}, 4)
                           . pack('C4', split /\./, $addr);
        }
    }

    my $head = pack 'n n n n n n', $id, 0x8180 | $rcode, 1, scalar @answers,
                    0, 0;

    return $head . $question . join '', @answers;
}

1;

package HgRedis;

# A real redis-server for the tests, on a free loopback port, started and
# killed through HgTest's spawn; a small RESP client to look inside; and a
# server that accepts connections and never answers.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

sub available {
    for my $dir (split /:/, $ENV{PATH} // '') {
        return 1 if -x "$dir/redis-server";
    }
    return 0;
}

sub start {
    my ($class, $t, %opt) = @_;

    my $self = bless {
        t    => $t,
        name => $opt{name} // 'redis',
        args => $opt{args} // [],
        password => $opt{password},
    }, $class;

    $self->{port} = $t->port($self->{name});

    if (my $tls = $opt{tls}) {
        $self->{tls_port} = $t->port("$self->{name}_tls");
        push @{ $self->{args} },
            '--tls-port', $self->{tls_port},
            '--tls-cert-file', $tls->{cert}, '--tls-key-file', $tls->{key},
            '--tls-ca-cert-file', $tls->{ca},
            '--tls-auth-clients', $tls->{auth_clients} // 'no';
    }
    $self->run;

    return $self;
}

sub port { $_[0]{port} }

# with tls => { cert, key, ca }: the TLS port, beside the plain one the
# tests look inside through
sub tls_port { $_[0]{tls_port} }

sub run {
    my ($self) = @_;
    my $t = $self->{t};

    die "redis already running\n" if $self->{pid};

    $self->{pid} = $t->spawn('redis-server', '--port', $self->{port},
                             '--bind', '127.0.0.1', '--save', '',
                             '--appendonly', 'no', '--daemonize', 'no',
                             '--dir', $t->dir, @{ $self->{args} },
                             defined $self->{password}
                             ? ('--requirepass', $self->{password}) : ());

    $t->wait_for(sub { $self->ping }, timeout => 10)
        or die "redis-server not ready on port $self->{port}\n";

    return $self;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    $self->{t}->kill_spawned($pid);
    close delete $self->{sock} if $self->{sock};
}

sub ping {
    my ($self) = @_;
    my $r = eval { $self->cmd('PING') };
    close delete $self->{sock} if !$r && $self->{sock};
    return defined $r && $r eq 'PONG';
}

# One command; the reply as Perl data (arrays as array refs, nil undef,
# errors die).
sub cmd {
    my ($self, @args) = @_;

    if (!$self->{sock}) {
        $self->{sock} = IO::Socket::INET->new(
            PeerAddr => '127.0.0.1',
            PeerPort => $self->{port},
            Proto    => 'tcp',
            Timeout  => 2,
        ) or die "connect to redis: $!\n";

        $self->cmd('AUTH', $self->{password}) if defined $self->{password};
    }

    my $s = $self->{sock};

    my $req = '*' . scalar(@args) . "\r\n"
              . join('', map { '$' . length($_) . "\r\n$_\r\n" } @args);

    print {$s} $req or do { delete $self->{sock}; die "write: $!\n" };

    $self->{buf} = '';
    my $r = $self->_reply(time + 5);

    die "redis: $r->{err}\n" if ref $r eq 'HASH';

    return $r;
}

sub _line {
    my ($self, $deadline) = @_;

    while (1) {
        my $i = index $self->{buf}, "\r\n";
        if ($i >= 0) {
            my $line = substr $self->{buf}, 0, $i;
            substr($self->{buf}, 0, $i + 2) = '';
            return $line;
        }
        $self->_fill($deadline);
    }
}

sub _fill {
    my ($self, $deadline) = @_;
    my $s = $self->{sock};

    my $wait = $deadline - time;
    if ($wait <= 0 || !IO::Select->new($s)->can_read($wait)) {
        delete $self->{sock};
        die "redis: no reply\n";
    }

    my $n = sysread $s, my $chunk, 65536;
    if (!$n) {
        delete $self->{sock};
        die "redis: connection closed\n";
    }

    $self->{buf} .= $chunk;
}

sub _reply {
    my ($self, $deadline) = @_;
    my $line = $self->_line($deadline);
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));

    return $rest if $type eq '+';
    return $rest + 0 if $type eq ':';
    return { err => $rest } if $type eq '-';

    if ($type eq '$') {
        return undef if $rest < 0;
        $self->_fill($deadline) while length $self->{buf} < $rest + 2;
        my $v = substr $self->{buf}, 0, $rest;
        substr($self->{buf}, 0, $rest + 2) = '';
        return $v;
    }

    if ($type eq '*') {
        return undef if $rest < 0;
        return [ map { $self->_reply($deadline) } 1 .. $rest ];
    }

    die "redis: bad reply \"$line\"\n";
}

sub keys {
    my ($self, $pattern) = @_;
    return sort @{ $self->cmd('KEYS', $pattern // '*') };
}

# A gateway on a mock provider whose store is "helicone_store redis
# $store", a per-user limit (limit => "2;w=60;s=user") on /v1/ and
# metrics on /metrics; started. t => an HgTest to use, else a new one.
sub gateway {
    my ($class, $store, %opt) = @_;

    require HgTest;

    my $g = $opt{t} // HgTest->new;
    my $limit = $opt{limit} // '2;w=60;s=user';
    my $mock = $opt{mock} // 'openai';

    $g->mock_llm($mock);

    $g->write_config($g->conf_head . <<"EOF");
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_$mock%% auth=none;
    helicone_auth off;
    helicone_store redis $store;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
            helicone_ratelimit "$limit";
        }

        location = /metrics { helicone_metrics; }
    }
}
EOF

    $g->run;

    return $g;
}

# One chat request to that gateway: user, content ("hi"), headers,
# timeout.
sub call {
    my ($class, $g, %a) = @_;
    return $g->chat(port => $g->port('gw'), headers => $a{headers} // [],
                    defined $a{timeout} ? (timeout => $a{timeout}) : (),
                    json => { model => 'gpt-4o-mini', user => $a{user},
                              messages => [ { role => 'user',
                                              content => $a{content}
                                                         // 'hi' } ] });
}

# A counter of that gateway's /metrics, -1 when absent.
sub metric {
    my ($class, $g, $name) = @_;
    my ($v) = ($g->http(port => $g->port('gw'), path => '/metrics')->{body}
               // '') =~ /^$name (\d+)$/m;
    return $v // -1;
}

# A Redis Cluster of $n nodes, $replicas replicas per master, made by
# redis-cli --cluster create, its state ok. Returns the nodes (masters
# first, as redis-cli assigns them), or dies.
sub cluster {
    my ($class, $t, $n, $replicas) = @_;

    my @nodes = map {
        my $name = "node$_";
        $class->start($t, name => $name,
                      args => [ '--cluster-enabled', 'yes',
                                '--cluster-config-file',
                                $t->path("$name-cluster.conf"),
                                '--cluster-node-timeout', '2000',
                                # the default, port + 10000, may not exist
                                '--cluster-port', $t->port("$name-bus") ]);
    } 1 .. $n;

    my $list = join ' ', map { '127.0.0.1:' . $_->port } @nodes;
    my $out = `redis-cli --cluster create $list --cluster-replicas $replicas --cluster-yes 2>&1`;
    die "redis-cli --cluster create: $out" if $?;

    $t->wait_for(sub {
        !grep { (eval { $_->cmd('CLUSTER', 'INFO') } // '')
                !~ /cluster_state:ok/ } @nodes
    }, timeout => 20, interval => 0.1) or die "cluster state not ok\n";

    return @nodes;
}

sub sentinel_available {
    for my $dir (split /:/, $ENV{PATH} // '') {
        return 1 if -x "$dir/redis-sentinel";
    }
    return 0;
}

# A redis-sentinel watching the master on $master_port as "mymaster",
# quick to act: down after 1 s, quorum 2; password => ... for clients
# and the other sentinels. Its config file is its own (Sentinel rewrites
# it). cmd() talks to it as to any Redis.
sub sentinel {
    my ($class, $t, $name, $master_port, %opt) = @_;

    my $self = bless { t => $t, name => $name,
                       password => $opt{password} }, $class;
    $self->{port} = $t->port($name);

    # a password: the clients' and the other sentinels' to give
    my $auth = defined $opt{password}
               ? "requirepass $opt{password}\n"
                 . "sentinel sentinel-pass $opt{password}\n"
               : '';

    $t->write_file("$name.conf", <<"EOF");
port $self->{port}
bind 127.0.0.1
daemonize no
dir ${\ $t->dir}
${auth}sentinel monitor mymaster 127.0.0.1 $master_port 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 10000
sentinel parallel-syncs mymaster 1
EOF

    $self->{pid} = $t->spawn('redis-sentinel', $t->path("$name.conf"));

    $t->wait_for(sub { $self->ping }, timeout => 10)
        or die "redis-sentinel not ready on port $self->{port}\n";

    return $self;
}

# A sentinel that names 127.0.0.1:$port as the master, whatever it is:
# a stale or lying one. Answers PING and SENTINEL only.
sub fake_sentinel {
    my ($class, $t, $name, $port) = @_;
    my $listen = $t->port($name);

    my $code = <<'EOF';
use IO::Socket::INET; use IO::Select;
my ($listen, $port) = @ARGV;
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $listen,
                              Listen => 16, ReuseAddr => 1) or die $!;
my $sel = IO::Select->new($l);
my %buf;
while (1) {
    for my $s ($sel->can_read) {
        if ($s == $l) { my $c = $l->accept; $sel->add($c) if $c; next }
        my $n = sysread $s, my $chunk, 65536;
        if (!$n) { $sel->remove($s); delete $buf{$s}; close $s; next }
        $buf{$s} .= $chunk;
        # whole commands: *N then N bulk strings
        while ($buf{$s} =~ /\A\*(\d+)\r\n/) {
            my ($argc, $pos, @argv) = ($1, length $&);
            for (1 .. $argc) {
                last unless substr($buf{$s}, $pos) =~ /\A\$(\d+)\r\n/;
                my $len = $1;
                $pos += length $&;
                last if length($buf{$s}) < $pos + $len + 2;
                push @argv, substr($buf{$s}, $pos, $len);
                $pos += $len + 2;
            }
            last if @argv < $argc;
            substr($buf{$s}, 0, $pos) = '';
            print {$s} uc($argv[0]) eq 'SENTINEL'
                ? "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($port)
                  . "\r\n$port\r\n"
                : "+PONG\r\n";
        }
    }
}
EOF

    my $pid = $t->spawn($^X, '-e', $code, $listen, $port);
    $t->wait_port($listen, timeout => 5) or die "fake sentinel not up\n";

    return ($listen, $pid);
}

# A private CA in the test's directory, and files signed by it:
# pki($t, 'ca') makes ca.crt/ca.key; pki($t, 'redis', ca => 'ca',
# san => 'DNS:redis.test') makes redis.crt/redis.key. Returns the paths.
sub pki {
    my ($class, $t, $name, %opt) = @_;
    my $d = $t->dir;

    my $openssl = sub {
        my $out = `openssl @_ 2>&1`;
        die "openssl @_: $out" if $?;
    };

    if (!$opt{ca}) {
        $openssl->("req -x509 -newkey rsa:2048 -nodes -days 2"
                   . " -subj /CN=$name -keyout $d/$name.key"
                   . " -out $d/$name.crt");
        return ("$d/$name.crt", "$d/$name.key");
    }

    $openssl->("req -newkey rsa:2048 -nodes -subj /CN=$name"
               . " -keyout $d/$name.key -out $d/$name.csr");

    my $ext = "$d/$name.ext";
    open my $fh, '>', $ext or die "$ext: $!\n";
    print {$fh} $opt{san} ? "subjectAltName=$opt{san}\n"
                          : "extendedKeyUsage=clientAuth\n";
    close $fh;

    $openssl->("x509 -req -in $d/$name.csr -CA $d/$opt{ca}.crt"
               . " -CAkey $d/$opt{ca}.key -CAcreateserial -days 2"
               . " -extfile $ext -out $d/$name.crt");

    return ("$d/$name.crt", "$d/$name.key");
}

# A listener that takes connections, reads what comes and never answers:
# a Redis that hangs.
sub silent {
    my ($class, $t, $name) = @_;
    my $port = $t->port($name // 'silent');

    my $code = <<'EOF';
use IO::Socket::INET; use IO::Select;
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $ARGV[0],
                              Listen => 128, ReuseAddr => 1) or die $!;
my $sel = IO::Select->new($l);
while (1) {
    for my $s ($sel->can_read) {
        if ($s == $l) { my $c = $l->accept; $sel->add($c) if $c; next }
        my $n = sysread $s, my $buf, 65536;
        if (!$n) { $sel->remove($s); close $s }
    }
}
EOF

    my $pid = $t->spawn($^X, '-e', $code, $port);
    $t->wait_port($port, timeout => 5) or die "silent server not up\n";

    return ($port, $pid);
}

1;

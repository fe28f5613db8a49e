package HgTest;

# Test harness for ngx_http_helicone_module: a temp dir, free ports,
# nginx start/stop/reload, forked mocks and a raw-socket HTTP client that
# records when each piece of the response body arrived.

use strict;
use warnings;

use Cwd qw(abs_path);
use Errno qw(EAGAIN EWOULDBLOCK EINTR EINPROGRESS);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Scalar::Util qw(weaken refaddr);
use Socket qw(MSG_NOSIGNAL);
use Test::More ();
use Time::HiRes qw(time sleep);

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

my $ROOT = abs_path(dirname(abs_path(__FILE__)) . '/../..');

my %LIVE;           # refaddr => weak ref, for END cleanup
my %PORTS_GIVEN;    # ports handed out by any object in this process

# provider names never go to the machine's DNS server: without a resolver
# or helicone_resolv_conf, the module asks 127.0.0.1 (a file of no servers)
$ENV{HELICONE_RESOLV_CONF} //= '/dev/null';

sub new {
    my ($class, %opt) = @_;

    my $leave = $opt{leave} // $ENV{HG_TEST_LEAVE};
    my $dir = tempdir('hgtest-XXXXXX', TMPDIR => 1, CLEANUP => !$leave);
    chmod 0777, $dir;

    Test::More::diag("test dir: $dir") if $leave;

    my $self = bless {
        dir      => $dir,
        root     => $ROOT,
        module   => $opt{module} // $ENV{HELICONE_MODULE}
                    // "$ROOT/build/ngx_http_helicone_module.so",
        nginx    => $opt{nginx} // $ENV{TEST_NGINX_BINARY}
                    // '/usr/sbin/nginx',
        ports    => {},
        mocks    => [],
        spawned  => [],
        owner    => $$,
        pid      => undef,
        config   => undef,
    }, $class;

    $LIVE{refaddr $self} = $self;
    weaken($LIVE{refaddr $self});

    return $self;
}

sub dir { $_[0]{dir} }
sub root { $_[0]{root} }
sub module_path { $_[0]{module} }
sub nginx_binary { $_[0]{nginx} }
sub has_module { -f $_[0]{module} }
sub nginx_pid { $_[0]{pid} }

sub port {
    my ($self, $name) = @_;

    return $self->{ports}{$name} if exists $self->{ports}{$name};

    for (1 .. 100) {
        my $s = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1',
            LocalPort => 0,
            Proto     => 'tcp',
            Listen    => 1,
        ) or die "cannot bind a free port: $!\n";

        my $p = $s->sockport;
        close $s;

        next if $PORTS_GIVEN{$p}++;

        return $self->{ports}{$name} = $p;
    }

    die "no free port for \"$name\"\n";
}

sub read_file {
    my ($self, $name) = @_;
    return _slurp($self->path($name));
}

sub can_connect {
    my ($self, $port) = @_;
    return _can_connect($port);
}

sub path {
    my ($self, $file) = @_;
    return $file =~ m{^/} ? $file : "$self->{dir}/$file";
}

# ---------------------------------------------------------------- config

sub conf_head {
    my ($self, %opt) = @_;
    my $module = ($opt{module} // 1) ? "%%MODULE%%\n" : '';

    return $module
        . "daemon off;\n"
        . "master_process on;\n"
        . "worker_processes 1;\n"
        . "error_log %%DIR%%/error.log debug;\n"
        . "pid %%DIR%%/nginx.pid;\n"
        . "events { worker_connections 1024; }\n";
}

sub http_head {
    return "access_log %%DIR%%/access.log;\n"
        . "client_body_temp_path %%DIR%%/client_body_temp;\n"
        . "proxy_temp_path %%DIR%%/proxy_temp;\n"
        . "fastcgi_temp_path %%DIR%%/fastcgi_temp;\n"
        . "uwsgi_temp_path %%DIR%%/uwsgi_temp;\n"
        . "scgi_temp_path %%DIR%%/scgi_temp;\n";
}

sub expand {
    my ($self, $text) = @_;

    $text =~ s{%%HTTP_HEAD%%}{$self->http_head}ge;
    $text =~ s{%%MODULE%%}{load_module $self->{module};}g;
    $text =~ s{%%DIR%%}{$self->{dir}}g;
    $text =~ s{%%ROOT%%}{$self->{root}}g;
    $text =~ s{%%ATTEMPT_CONF%%}{$self->{root}/conf/helicone_attempt.conf}g;
    $text =~ s{%%PORT_(\w+?)%%}{$self->port($1)}ge;

    if ($text =~ /(%%\w+%%)/) {
        die "unknown placeholder $1 in config\n";
    }

    return $text;
}

sub write_file {
    my ($self, $name, $content) = @_;
    my $file = $self->path($name);

    open my $fh, '>', $file or die "cannot write $file: $!\n";
    print $fh $content;
    close $fh or die "cannot write $file: $!\n";

    return $file;
}

sub write_config {
    my ($self, $template) = @_;

    $self->{config} = $self->expand($template);

    return $self->write_file('nginx.conf', $self->{config});
}

# the workers nginx will run: 0 without a master, at least 1 for "auto"
sub workers_expected {
    my ($self) = @_;
    my $conf = $self->{config} // return 0;

    return 0 if $conf =~ /^\s*master_process\s+off\s*;/m;

    my ($n) = $conf =~ /^\s*worker_processes\s+(\d+|auto)\s*;/m;

    return 1 if !defined $n || $n eq 'auto';
    return $n;
}

sub listen_ports {
    my ($self) = @_;
    my %seen;

    return () unless defined $self->{config};

    return grep { !$seen{$_}++ }
           $self->{config} =~ /^\s*listen\s+127\.0\.0\.1:(\d+)/mg;
}

# ---------------------------------------------------------------- nginx

# the prefix is the test dir unless set_prefix() chose another (t/deb.t:
# the root a package was unpacked into, as nginx's -p)
sub set_prefix { $_[0]{prefix} = $_[1] }

sub nginx_args {
    my ($self) = @_;
    my $d = $self->{dir};
    return ('-p', $self->{prefix} // "$d/", '-c', "$d/nginx.conf",
            '-e', "$d/error.log");
}

sub nginx_t {
    my ($self, %opt) = @_;
    my $out = "$self->{dir}/nginx-t.out";

    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        open STDOUT, '>', $out;
        open STDERR, '>&', \*STDOUT;
        { no warnings q(exec); exec $self->{nginx}, '-t', $self->nginx_args; }
        POSIX::_exit(127);
    }

    my $status = _wait_pid($pid, $opt{timeout} // 30);

    if (!defined $status) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
        $status = 9;
    }

    my $code = $status & 127 ? 128 + ($status & 127) : $status >> 8;

    return ($code, _slurp($out) // '');
}

sub run {
    my ($self, %opt) = @_;

    die "nginx already running\n" if $self->{pid};
    die "write_config() first\n" unless defined $self->{config};

    my $d = $self->{dir};
    unlink "$d/nginx.pid";

    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$d/nginx.out";
        open STDERR, '>&', \*STDOUT;
        { no warnings q(exec); exec $self->{nginx}, $self->nginx_args; }
        POSIX::_exit(127);
    }

    POSIX::setpgid($pid, $pid);
    $self->{pid} = $pid;

    my @ports = $self->listen_ports;
    my $workers = $self->workers_expected;
    my $timeout = $opt{timeout} // 10;

    # the master listens before it forks the workers, and a new worker
    # is one by its title only once it has set it: ready means both
    my $ok = $self->wait_for(sub {
        if (waitpid($pid, WNOHANG) == $pid) {
            $self->{pid} = undef;
            $self->{exit} = $?;
            return 'exited';
        }

        return undef if $self->worker_pids < $workers;

        if (!@ports) {
            return -s "$d/nginx.pid" ? 'up' : undef;
        }

        for my $p (@ports) {
            return undef unless _can_connect($p);
        }

        return 'up';

    }, timeout => $timeout);

    if (!$ok || $ok eq 'exited') {
        my $why = $ok ? "exited with status " . ($self->{exit} >> 8)
                      : "not ready in ${timeout}s";
        $self->stop if $self->{pid};
        die "nginx $why\n" . $self->_failure_context;
    }

    return $self;
}

sub _failure_context {
    my ($self) = @_;
    my $out = _slurp("$self->{dir}/nginx.out") // '';
    return "--- nginx stderr:\n$out" . "--- error.log tail:\n"
           . $self->error_log_tail(30);
}

sub stop {
    my ($self, %opt) = @_;
    my $pid = $self->{pid} or return;
    local $?;

    my $timeout = $opt{timeout} // 10;

    kill 'QUIT', $pid;
    my $status = _wait_pid($pid, $timeout);

    if (!defined $status) {
        kill 'TERM', $pid;
        $status = _wait_pid($pid, 5);
    }

    if (!defined $status) {
        kill 'KILL', -$pid, $pid;
        $status = _wait_pid($pid, 5);
    }

    # workers left behind by a master that did not shut down cleanly
    kill 'KILL', -$pid;

    $self->{pid} = undef;
    $self->{exit} = $status;

    return $status;
}

sub reload {
    my ($self, %opt) = @_;
    my $pid = $self->{pid} or die "nginx not running\n";
    my $timeout = $opt{timeout} // 10;

    my $log = "$self->{dir}/error.log";
    my $offset = -s $log // 0;
    my %old = map { $_ => 1 } $self->worker_pids;
    my $want = $self->workers_expected || 1;

    kill 'HUP', $pid;

    my $result = $self->wait_for(sub {
        my $new = _slurp($log, $offset) // '';

        if ($new =~ /^(.*\[emerg\].*)$/m) {
            return { error => $1 };
        }

        my @started = grep { !$old{$_} }
                      $new =~ /start worker process (\d+)/g;

        # one line per worker forked: all of them, not the first
        return @started >= $want ? { workers => \@started } : undef;

    }, timeout => $timeout);

    if (!$result || $result->{error}) {
        my $why = $result ? "reload failed: $result->{error}"
                          : "no new worker in ${timeout}s after reload";
        return () if $opt{allow_fail};
        die "$why\n" . $self->_failure_context;
    }

    # "start worker process" is logged before the worker has its title
    my @started = @{ $result->{workers} };
    $self->wait_for(sub {
        my %alive = map { $_ => 1 } $self->_children;
        my %named = map { $_ => 1 } $self->worker_pids;
        !grep { $alive{$_} && !$named{$_} } @started;
    }, timeout => $timeout);

    if ($opt{wait_old}) {
        $self->wait_for(sub {
            my %now = map { $_ => 1 } $self->_children;
            !grep { $now{$_} } keys %old;
        }, timeout => $timeout);
    }

    my @ports = $self->listen_ports;
    $self->wait_for(sub { !grep { !_can_connect($_) } @ports },
                    timeout => $timeout)
        or die "ports not ready after reload\n" . $self->_failure_context;

    return @{ $result->{workers} };
}

sub reopen {
    my ($self) = @_;
    my $pid = $self->{pid} or die "nginx not running\n";
    return kill 'USR1', $pid;
}

sub _children {
    my ($self) = @_;
    my $master = $self->{pid} or return ();
    my @pids;

    opendir my $dh, '/proc' or return ();

    for my $p (grep { /^\d+$/ } readdir $dh) {
        my $stat = _slurp("/proc/$p/stat") // next;
        # "pid (comm) state ppid ...": comm may hold spaces and parens
        my ($ppid) = $stat =~ /\)\s+\S+\s+(\d+)/ or next;
        push @pids, $p if $ppid == $master;
    }

    return sort { $a <=> $b } @pids;
}

sub worker_pids {
    my ($self) = @_;

    return grep {
        my $cmd = _slurp("/proc/$_/cmdline") // '';
        $cmd =~ /worker process/ && $cmd !~ /shutting down/;
    } $self->_children;
}

# ---------------------------------------------------------------- other
# processes

sub mock_llm {
    my ($self, $name, %opt) = @_;

    require MockLLM;

    my $mock = MockLLM->start(
        %opt,
        name   => $name,
        port   => $self->port($name),
        log    => "$self->{dir}/mock-$name.jsonl",
        parent => $$,
        t      => $self,
    );

    push @{ $self->{mocks} }, $mock;

    return $mock;
}

sub spawn {
    my ($self, @cmd) = @_;
    my $out = "$self->{dir}/spawn-" . scalar(@{ $self->{spawned} }) . '.out';

    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>&', \*STDOUT;
        { no warnings q(exec); exec @cmd; }
        POSIX::_exit(127);
    }

    POSIX::setpgid($pid, $pid);
    push @{ $self->{spawned} }, $pid;

    return $pid;
}

sub kill_spawned {
    my ($self, $pid) = @_;
    local $?;

    kill 'TERM', -$pid, $pid;

    if (!defined _wait_pid($pid, 5)) {
        kill 'KILL', -$pid, $pid;
        _wait_pid($pid, 5);
    }

    kill 'KILL', -$pid;
    $self->{spawned} = [ grep { $_ != $pid } @{ $self->{spawned} } ];
}

sub wait_port {
    my ($self, $port, %opt) = @_;
    return $self->wait_for(sub { _can_connect($port) }, %opt);
}

sub cleanup {
    my ($self) = @_;
    local ($?, $!, $@);

    return if $self->{owner} != $$;

    $self->stop if $self->{pid};
    $self->_keep_sanitizer_reports;

    $_->stop for @{ $self->{mocks} };
    $self->{mocks} = [];

    $self->kill_spawned($_) for @{ $self->{spawned} };
}

# make test-asan: workers report to stderr, which nginx sends to the error
# log; copy those reports out before the test directory goes away
sub _keep_sanitizer_reports {
    my ($self) = @_;
    my $into = $ENV{HG_SANITIZER_REPORTS} or return;

    my $text = join "\n", grep { defined }
        _slurp("$self->{dir}/error.log"), _slurp("$self->{dir}/nginx.out");
    my @hits = grep { /runtime error:|ERROR: AddressSanitizer|Sanitizer:/ }
               split /\n/, $text;
    return unless @hits;

    (my $name = $0) =~ s{.*/}{};
    open my $fh, '>>', "$into/$name.$$.log" or return;
    print $fh "$_\n" for @hits;
    close $fh;
}

sub DESTROY {
    my ($self) = @_;
    $self->cleanup;
    delete $LIVE{refaddr $self};
}

END {
    local $?;
    for my $t (values %LIVE) {
        $t->cleanup if $t;
    }
}

# ---------------------------------------------------------------- logs

sub error_log {
    my ($self, %opt) = @_;
    return _slurp("$self->{dir}/error.log", $opt{since} // 0) // '';
}

sub log_offset {
    my ($self) = @_;
    return -s "$self->{dir}/error.log" // 0;
}

sub error_log_tail {
    my ($self, $n) = @_;
    my @lines = split /\n/, $self->error_log;
    splice @lines, 0, @lines - $n if @lines > $n;
    return join("\n", @lines) . "\n";
}

sub wait_log {
    my ($self, $re, %opt) = @_;
    my $since = $opt{since} // 0;

    return $self->wait_for(sub {
        my $log = $self->error_log(since => $since);
        $log =~ /^(.*$re.*)$/m ? $1 : undef;
    }, %opt);
}

# except => qr/.../: a line the test caused on purpose (a worker it killed)
sub check_no_alerts {
    my ($self, %opt) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my @bad = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $self->error_log;
    @bad = grep { !/$opt{except}/ } @bad if $opt{except};

    Test::More::ok(!@bad, 'no alerts in error log')
        or Test::More::diag(join "\n", @bad);

    return !@bad;
}

sub wait_for {
    my ($self, $cond, %opt) = @_;
    my $deadline = time + ($opt{timeout} // 5);
    my $interval = $opt{interval} // 0.02;

    while (1) {
        my $v = $cond->();
        return $v if $v;
        return undef if time >= $deadline;
        sleep $interval;
    }
}

sub read_jsonl {
    my ($self, $file) = @_;
    my @items = _read_jsonl($self->path($file));
    return wantarray ? @items : \@items;
}

# the log event of one request id, once it is in the file (or undef)
sub wait_event {
    my ($self, $id, %opt) = @_;
    my $file = $opt{file} // 'helicone.jsonl';
    my $found;

    $id //= 'none';

    $self->wait_for(sub {
        ($found) = grep { ($_->{id} // '') eq $id } $self->read_jsonl($file);
        $found;
    }, timeout => $opt{timeout} // 5);

    return $found;
}

sub wait_jsonl {
    my ($self, $file, $n, %opt) = @_;
    my $path = $self->path($file);
    my @items;

    $self->wait_for(sub {
        @items = _read_jsonl($path);
        @items >= $n;
    }, %opt);

    return wantarray ? @items : \@items;
}

sub _read_jsonl {
    my ($path) = @_;
    my $text = _slurp($path) // return ();

    # a line still being written has no newline yet
    $text =~ s/[^\n]*\z//;

    return map { $JSON->decode($_) } grep { /\S/ } split /\n/, $text;
}

# ---------------------------------------------------------------- HTTP

sub http_connect {
    my ($self, $port, %opt) = @_;

    my $s = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $port,
        Proto    => 'tcp',
        Timeout  => $opt{timeout} // 5,
    ) or return undef;

    $s->blocking(0);
    ${*$s}{hg_leftover} = '';

    return $s;
}

sub http {
    my ($self, %a) = @_;

    my $timeout = $a{timeout} // 10;
    my $deadline = time + $timeout;
    my $method = $a{method} // 'GET';
    my $path = $a{path} // '/';
    my $own = !$a{sock};
    my $keepalive = $a{keepalive} // !$own;

    my $res = HgTest::Response->new(method => $method,
                                    on_chunk => $a{on_chunk});

    my $s = $a{sock} // $self->http_connect($a{port}, timeout => $timeout);

    if (!$s) {
        $res->{error} = "connect: $!";
        return $res->result;
    }

    my @h = @{ $a{headers} // [] };
    my %has = map { lc $_->[0] => 1 } @h;
    my $body = $a{body};

    unshift @h, [ 'Host', '127.0.0.1' ] unless $has{host};

    if ($a{chunked_body}) {
        $body = join '', map { sprintf("%x\r\n", length) . "$_\r\n" }
                         grep { length } @{ $a{chunked_body} };
        $body .= "0\r\n\r\n";
        push @h, [ 'Transfer-Encoding', 'chunked' ]
            unless $has{'transfer-encoding'};

    } elsif (defined $body && !$has{'content-length'}
             && !$has{'transfer-encoding'})
    {
        push @h, [ 'Content-Length', length $body ];
    }

    push @h, [ 'Connection', 'close' ] unless $keepalive || $has{connection};

    my $req = "$method $path HTTP/1.1\r\n"
              . join('', map { "$_->[0]: $_->[1]\r\n" } @h)
              . "\r\n" . ($body // '');

    my $werr = _write_all($s, $req, $deadline);

    $res->{t0} = time;
    $res->{error} = "write: $werr" if $werr;

    my $left = ${*$s}{hg_leftover} // '';
    ${*$s}{hg_leftover} = '';
    $res->feed($left, time) if length $left;

    my $sel = IO::Select->new($s);

    while (!$res->done) {
        if (defined $a{abort_after_bytes}
            && length $res->{body} >= $a{abort_after_bytes})
        {
            $res->{aborted} = 1;
            $res->{closed} = 1;
            close $s;
            last;
        }

        my $wait = $deadline - time;

        if ($wait <= 0) {
            $res->{timed_out} = 1;
            $res->{error} //= 'timeout';
            last;
        }

        next unless $sel->can_read($wait);

        my $n = sysread $s, my $buf, 65536;

        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            $res->{error} = "read: $!";
            $res->{closed} = 1;
            last;
        }

        if ($n == 0) {
            $res->{closed} = 1;
            $res->eof;
            last;
        }

        $res->feed($buf, time);
    }

    if ($res->done && length $res->{buf}) {
        ${*$s}{hg_leftover} = $res->{buf};
    }

    close $s if $own || $res->{closed} || !$keepalive;

    return $res->result;
}

sub http_raw {
    my ($self, $port, $bytes, %opt) = @_;
    my $deadline = time + ($opt{timeout} // 10);

    my $s = $self->http_connect($port) or return undef;

    _write_all($s, $bytes, $deadline);

    my $raw = '';
    my $sel = IO::Select->new($s);

    while ((my $wait = $deadline - time) > 0) {
        next unless $sel->can_read($wait);
        my $n = sysread $s, my $buf, 65536;
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            last;
        }
        last if $n == 0;
        $raw .= $buf;
    }

    close $s;
    return $raw;
}

sub parse_response {
    my ($raw, %opt) = @_;
    my $res = HgTest::Response->new(method => $opt{method} // 'GET');
    $res->{t0} = 0;
    $res->feed($raw, 0) if length $raw;
    $res->eof;
    return $res->result;
}

sub chat {
    my ($self, %a) = @_;

    my @h = @{ delete $a{headers} // [] };
    my $json = delete $a{json};

    push @h, [ 'Content-Type', 'application/json' ]
        unless grep { lc $_->[0] eq 'content-type' } @h;

    my $res = $self->http(
        method  => 'POST',
        path    => '/v1/chat/completions',
        body    => defined $json ? $JSON->encode($json) : undef,
        %a,
        headers => \@h,
    );

    $res->{json} = eval { $JSON->decode($res->{body}) }
        if defined $res->{body} && length $res->{body};

    if (($res->{headers}{'content-type'} // '') =~ m{text/event-stream}) {
        $res->{events} = [ sse_events($res->{body}) ];
    }

    return $res;
}

sub json_encode { $JSON->encode($_[-1]) }
sub json_decode { $JSON->decode($_[-1]) }

sub sse_events {
    my ($text) = @_;
    my (@events, %cur, @data);

    $text //= '';
    $text =~ s/\r\n?/\n/g;

    for my $line (split /\n/, $text, -1) {
        if ($line eq '') {
            if (@data || defined $cur{event}) {
                my $ev = { %cur, data => join("\n", @data) };
                $ev->{json} = eval { $JSON->decode($ev->{data}) }
                    if $ev->{data} =~ /^\s*[\[{]/;
                push @events, $ev;
            }
            %cur = ();
            @data = ();
            next;
        }

        next if $line =~ /^:/;

        my ($f, $v) = $line =~ /^([^:]*)(?::(.*))?$/;
        $v //= '';
        $v =~ s/^ //;

        if ($f eq 'data') {
            push @data, $v;
        } elsif ($f eq 'event' || $f eq 'id' || $f eq 'retry') {
            $cur{$f} = $v;
        }
    }

    # an event without its terminating blank line is not dispatched

    return @events;
}

# ---------------------------------------------------------------- utils

sub _can_connect {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $port,
        Proto    => 'tcp',
        Timeout  => 0.5,
    ) or return 0;
    close $s;
    return 1;
}

sub _write_all {
    my ($s, $data, $deadline) = @_;
    my $off = 0;
    my $sel = IO::Select->new($s);

    while ($off < length $data) {
        my $n = send $s, substr($data, $off), MSG_NOSIGNAL;

        if (!defined $n) {
            return "$!" unless $! == EAGAIN || $! == EWOULDBLOCK
                               || $! == EINTR;
            my $wait = $deadline - time;
            return 'timeout' if $wait <= 0;
            $sel->can_write($wait);
            next;
        }

        $off += $n;
    }

    return undef;
}

sub _wait_pid {
    my ($pid, $timeout) = @_;
    my $deadline = time + $timeout;

    while (1) {
        my $r = waitpid $pid, WNOHANG;
        return $? if $r == $pid;
        return 0 if $r == -1;    # not our child or already reaped
        return undef if time >= $deadline;
        sleep 0.01;
    }
}

sub _slurp {
    my ($file, $offset) = @_;
    open my $fh, '<', $file or return undef;
    binmode $fh;
    seek $fh, $offset, 0 if $offset;
    local $/;
    my $text = <$fh>;
    return $text // '';
}

# ---------------------------------------------------------------- response
# An incremental HTTP/1.x response parser: feed() bytes as they arrive.

package HgTest::Response;

use strict;
use warnings;

sub new {
    my ($class, %o) = @_;

    return bless {
        method      => $o{method} // 'GET',
        on_chunk    => $o{on_chunk},
        state       => 'head',
        buf         => '',
        raw         => '',
        body        => '',
        chunks      => [],
        header_list => [],
        headers     => {},
        complete    => 0,
        t0          => 0,
    }, $class;
}

sub done { $_[0]{state} eq 'done' || $_[0]{state} eq 'error' }

sub feed {
    my ($self, $data, $now) = @_;
    my $payload = '';

    $self->{raw} .= $data;
    $self->{buf} .= $data;
    $self->{ttfb} //= $now - $self->{t0};

    while (1) {
        my $st = $self->{state};

        if ($st eq 'head') {
            $self->{buf} =~ s/^(.*?)\r?\n\r?\n//s or last;
            $self->_head($1);

        } elsif ($st eq 'length' || $st eq 'chunk') {
            last unless length $self->{buf};
            my $n = $self->{remaining};
            $n = length $self->{buf} if $n > length $self->{buf};
            $payload .= substr $self->{buf}, 0, $n, '';
            $self->{remaining} -= $n;
            next if $self->{remaining};

            if ($st eq 'length') {
                $self->{state} = 'done';
                $self->{complete} = 1;
            } else {
                $self->{state} = 'chunk_crlf';
            }

        } elsif ($st eq 'close') {
            $payload .= $self->{buf};
            $self->{buf} = '';
            last;

        } elsif ($st eq 'chunk_size') {
            $self->{buf} =~ s/^([^\n]*)\n// or last;
            my $line = $1;
            $line =~ s/[;\r].*//s;

            if ($line !~ /^[0-9a-fA-F]+$/) {
                $self->{state} = 'error';
                $self->{error} = "bad chunk size \"$line\"";
                last;
            }

            my $size = hex $line;
            $self->{remaining} = $size;
            $self->{state} = $size ? 'chunk' : 'trailer';

        } elsif ($st eq 'chunk_crlf') {
            if ($self->{buf} =~ s/^\r?\n//) {
                $self->{state} = 'chunk_size';
                next;
            }
            last if $self->{buf} eq '' || $self->{buf} eq "\r";
            $self->{state} = 'error';
            $self->{error} = 'no CRLF after chunk data';

        } elsif ($st eq 'trailer') {
            $self->{buf} =~ s/^([^\n]*)\n// or last;
            next unless $1 eq '' || $1 eq "\r";
            $self->{state} = 'done';
            $self->{complete} = 1;

        } else {
            last;
        }
    }

    if (length $payload) {
        my $t = $now - $self->{t0};
        $self->{body} .= $payload;
        push @{ $self->{chunks} }, [ $t, $payload ];
        $self->{on_chunk}->($t, $payload) if $self->{on_chunk};
    }
}

sub _head {
    my ($self, $head) = @_;
    my @lines = split /\r?\n/, $head;
    my $status_line = shift @lines // '';

    my ($ver, $status, $reason) =
        $status_line =~ m{^(HTTP/\d\.\d)\s+(\d{3})(?:\s+(.*))?$};

    if (!defined $status) {
        $self->{state} = 'error';
        $self->{error} = "bad status line \"$status_line\"";
        return;
    }

    # an interim 1xx response: the real one follows
    if ($status >= 100 && $status < 200 && $status != 101) {
        return;
    }

    my (@list, %h);

    for my $l (@lines) {
        if ($l =~ /^[ \t]/ && @list) {
            $list[-1][1] .= $l;
            next;
        }
        my ($n, $v) = $l =~ /^([^:]+):\s*(.*?)\s*$/ or next;
        push @list, [ $n, $v ];
        my $k = lc $n;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }

    $self->{version} = $ver;
    $self->{status} = $status + 0;
    $self->{reason} = $reason // '';
    $self->{header_list} = \@list;
    $self->{headers} = \%h;

    if ($self->{method} eq 'HEAD' || $status == 204 || $status == 304) {
        $self->{state} = 'done';
        $self->{complete} = 1;

    } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        $self->{state} = 'chunk_size';

    } elsif (defined $h{'content-length'}) {
        my ($cl) = $h{'content-length'} =~ /^(\d+)/;
        $self->{remaining} = $cl // 0;
        $self->{state} = $self->{remaining} ? 'length' : 'done';
        $self->{complete} = 1 unless $self->{remaining};

    } else {
        $self->{state} = 'close';
    }
}

sub eof {
    my ($self) = @_;

    if ($self->{state} eq 'close') {
        $self->{state} = 'done';
        $self->{complete} = 1;

    } elsif ($self->{state} eq 'head') {
        $self->{error} //= length $self->{raw}
                           ? 'connection closed in response header'
                           : 'connection closed without response';
    }
}

sub result {
    my ($self) = @_;
    my %r = %$self;
    delete @r{qw(buf state remaining on_chunk method)};
    $r{elapsed} = Time::HiRes::time() - $self->{t0} if $self->{t0};
    return \%r;
}

1;

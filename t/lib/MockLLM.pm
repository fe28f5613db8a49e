package MockLLM;

# A mock LLM provider: a forked HTTP/1.1 server, one process per
# connection, OpenAI-compatible by default and scriptable per request.
# Every request it receives is appended as one JSON line to its log file.

use strict;
use warnings;

use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Fcntl qw(O_WRONLY O_APPEND O_CREAT SEEK_CUR);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 ();
use POSIX qw(WNOHANG);
use Socket qw(SOL_SOCKET SO_LINGER IPPROTO_TCP TCP_NODELAY MSG_NOSIGNAL);
use Time::HiRes qw(time sleep);

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

our $CREATED = 1700000000;

my %REASON = (
    100 => 'Continue', 200 => 'OK', 201 => 'Created', 204 => 'No Content',
    400 => 'Bad Request', 401 => 'Unauthorized', 403 => 'Forbidden',
    404 => 'Not Found', 408 => 'Request Timeout', 413 => 'Payload Too Large',
    429 => 'Too Many Requests', 500 => 'Internal Server Error',
    502 => 'Bad Gateway', 503 => 'Service Unavailable',
    504 => 'Gateway Timeout', 529 => 'Overloaded',
);

# ---------------------------------------------------------------- control

sub start {
    my ($class, %o) = @_;

    my $listen = IO::Socket::INET->new(
        LocalAddr => $o{host} // '127.0.0.1',
        LocalPort => $o{port},
        Proto     => 'tcp',
        Listen    => 128,
        ReuseAddr => 1,
    ) or die "mock $o{name}: cannot listen on port $o{port}: $!\n";

    if (defined $o{log}) {
        open my $fh, '>>', $o{log} or die "cannot create $o{log}: $!\n";
        close $fh;
    }

    my $parent = $$;
    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        delete $o{t};
        eval { serve(%o, listener => $listen, parent => $parent) };
        print STDERR "mock $o{name}: $@" if $@;
        POSIX::_exit(0);
    }

    POSIX::setpgid($pid, $pid);
    close $listen;

    return bless {
        name => $o{name},
        port => $o{port},
        log  => $o{log},
        pid  => $pid,
    }, $class;
}

sub port { $_[0]{port} }
sub pid { $_[0]{pid} }
sub name { $_[0]{name} }
sub log_file { $_[0]{log} }
sub url { "http://127.0.0.1:$_[0]{port}" }

sub requests {
    my ($self) = @_;
    my @r = _read_log($self->{log});
    return wantarray ? @r : \@r;
}

sub wait_requests {
    my ($self, $n, %opt) = @_;
    my $deadline = time + ($opt{timeout} // 5);
    my @r;

    while (1) {
        @r = _read_log($self->{log});
        last if @r >= $n || time >= $deadline;
        sleep 0.02;
    }

    return wantarray ? @r : \@r;
}

sub clear {
    my ($self) = @_;
    truncate $self->{log}, 0 if defined $self->{log};
}

sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    local ($?, $!);

    kill 'TERM', $pid;

    my $deadline = time + 5;
    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) {
            kill 'KILL', -$pid, $pid;
            waitpid $pid, 0;
            last;
        }
        sleep 0.01;
    }

    # connection processes share the group
    kill 'KILL', -$pid;
    $self->{pid} = undef;
}

sub _read_log {
    my ($file) = @_;
    return () unless defined $file;
    open my $fh, '<', $file or return ();
    local $/;
    my $text = <$fh> // '';
    $text =~ s/[^\n]*\z//;
    return map { $JSON->decode($_) } grep { /\S/ } split /\n/, $text;
}

# ---------------------------------------------------------------- server

# serve(listener => $sock, log => $file|undef, handler => $code|undef,
#       parent => $pid|undef, stream_delay_ms => N): never returns.

sub serve {
    my (%o) = @_;
    my $listen = $o{listener};
    my $sel = IO::Select->new($listen);

    $SIG{PIPE} = 'IGNORE';
    $0 = "mock-llm " . ($o{name} // $listen->sockport);

    my $me = $$;
    my %kids;

    # reap the connection processes here, so none is left to init
    $SIG{TERM} = $SIG{INT} = sub {
        $SIG{TERM} = $SIG{INT} = 'IGNORE';
        kill 'TERM', keys %kids;
        kill 'TERM', -$me if getpgrp() == $me;

        my $deadline = time + 2;

        while (time < $deadline) {
            my $pid = waitpid -1, WNOHANG;
            last if $pid < 0;
            sleep 0.01 unless $pid;
        }

        kill 'KILL', -$me if getpgrp() == $me;
        kill 'KILL', keys %kids;
        1 while waitpid(-1, WNOHANG) > 0;
        POSIX::_exit(0);
    };

    while (1) {
        while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
            delete $kids{$pid};
        }

        if ($o{parent} && getppid() != $o{parent}) {
            kill 'TERM', -$me;
            POSIX::_exit(0);
        }

        next unless $sel->can_read(0.5);

        my $c = $listen->accept or next;
        my $pid = fork;

        if (!defined $pid) {
            close $c;
            next;
        }

        if ($pid == 0) {
            $SIG{TERM} = $SIG{INT} = 'DEFAULT';
            close $listen;
            eval { connection($c, %o, accept_pid => $me) };
            print STDERR "mock connection: $@" if $@ && $@ !~ /^closed/;
            POSIX::_exit(0);
        }

        $kids{$pid} = 1;
        close $c;
    }
}

sub connection {
    my ($c, %o) = @_;
    my $buf = '';
    my $n = 0;

    $c->blocking(1);
    setsockopt $c, IPPROTO_TCP, TCP_NODELAY, 1;

    while (1) {
        alarm 120;

        my $req = read_request($c, \$buf, %o) or last;
        $req->{conn_seq} = ++$n;

        record($req, $o{log}) if defined $o{log};

        my $action;

        if ($o{handler}) {
            $action = eval { $o{handler}->($req) };
            if ($@) {
                $action = {
                    status => 500,
                    json   => { error => { message => "mock handler: $@",
                                           type => 'mock_error' } },
                };
            }
        }

        $action //= default_action($req, %o);

        respond($c, $req, $action, %o) or last;
    }

    close $c;
}

sub read_request {
    my ($c, $bufref, %o) = @_;

    # idle keep-alive connections wait up to 30s for the next request
    my $deadline = time + ($o{idle_timeout} // 30);
    my $need = sub {
        my ($what) = @_;
        while (1) {
            return 1 if $what->();
            my $wait = $deadline - time;
            return 0 if $wait <= 0;
            return 0 if $o{accept_pid} && getppid() != $o{accept_pid};
            next unless IO::Select->new($c)->can_read($wait > 1 ? 1 : $wait);
            my $r = sysread $c, my $chunk, 65536;
            if (!defined $r) {
                next if $! == EINTR || $! == EAGAIN || $! == EWOULDBLOCK;
                return 0;
            }
            return 0 if $r == 0;
            $$bufref .= $chunk;
        }
    };

    $need->(sub { $$bufref =~ /\r?\n\r?\n/ }) or return undef;
    $$bufref =~ s/^(.*?)\r?\n\r?\n//s;

    my @lines = split /\r?\n/, $1;
    my ($method, $path, $version) = split ' ', shift(@lines) // '';

    return undef unless defined $version;

    my (@list, %h);

    for my $l (@lines) {
        my ($k, $v) = $l =~ /^([^:]+):\s*(.*?)\s*$/ or next;
        push @list, [ $k, $v ];
        my $lk = lc $k;
        $h{$lk} = exists $h{$lk} ? "$h{$lk}, $v" : $v;
    }

    my $req = {
        method      => $method,
        path        => $path,
        version     => $version,
        headers     => \%h,
        header_list => \@list,
        time        => time,
        peer_port   => $c->peerport,
    };

    if (($h{expect} // '') =~ /100-continue/i) {
        write_all($c, "HTTP/1.1 100 Continue\r\n\r\n");
    }

    my $body = '';

    # body reading has its own deadline once the header is in
    $deadline = time + 30;

    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            $need->(sub { $$bufref =~ /\n/ }) or return undef;
            $$bufref =~ s/^([^\n]*)\n//;
            my ($size) = $1 =~ /^([0-9a-fA-F]+)/;
            return undef unless defined $size;
            $size = hex $size;

            if ($size == 0) {
                # trailer fields up to an empty line
                while (1) {
                    $need->(sub { $$bufref =~ /\n/ }) or return undef;
                    $$bufref =~ s/^([^\n]*)\n//;
                    last if $1 eq '' || $1 eq "\r";
                }
                last;
            }

            $need->(sub { length $$bufref >= $size + 1 }) or return undef;
            $body .= substr $$bufref, 0, $size, '';
            $need->(sub { $$bufref =~ /\n/ }) or return undef;
            $$bufref =~ s/^\r?\n//;
        }

    } elsif (my ($cl) = ($h{'content-length'} // '') =~ /^(\d+)/) {
        $need->(sub { length $$bufref >= $cl }) or return undef;
        $body = substr $$bufref, 0, $cl, '';
    }

    $req->{body} = $body;
    $req->{json} = length $body ? eval { $JSON->decode($body) } : undef;

    return $req;
}

sub record {
    my ($req, $file) = @_;

    my %rec = map { $_ => $req->{$_} }
              qw(method path version headers header_list body json time
                 peer_port conn_seq);

    my $line = $JSON->encode(\%rec) . "\n";

    sysopen my $fh, $file, O_WRONLY | O_APPEND | O_CREAT, 0666 or return;
    syswrite $fh, $line;

    # our line ends at the file offset; count lines up to it
    my $end = sysseek $fh, 0, SEEK_CUR;
    close $fh;

    if ($end && open my $in, '<', $file) {
        my $text;
        read $in, $text, $end;
        $req->{seq} = ($text =~ tr/\n//);
    }
}

# ---------------------------------------------------------------- actions

sub respond {
    my ($c, $req, $a, %o) = @_;

    my $close = ($req->{headers}{connection} // '') =~ /close/i
                || $req->{version} eq 'HTTP/1.0';

    sleep $a->{delay_ms} / 1000 if $a->{delay_ms};

    if ($a->{reset}) {
        reset_close($c);
        return 0;
    }

    if ($a->{close}) {
        close $c;
        return 0;
    }

    if (defined $a->{raw}) {
        write_all($c, $a->{raw});
        close $c;
        return 0;
    }

    if ($a->{stall} && !$a->{sse}) {
        stall($c, %o);
        return 0;
    }

    my $status = $a->{status} // 200;
    my @h = _header_list($a->{headers});
    my %has = map { lc $_->[0] => 1 } @h;

    if ($a->{sse}) {
        my $chunked = $a->{chunked} // 1;
        $chunked = 0 if $req->{version} eq 'HTTP/1.0';

        push @h, [ 'Content-Type', 'text/event-stream' ]
            unless $has{'content-type'};
        push @h, [ 'Cache-Control', 'no-cache' ]
            unless $has{'cache-control'};
        push @h, $chunked ? [ 'Transfer-Encoding', 'chunked' ]
                          : [ 'Connection', 'close' ];

        write_all($c, _head($status, \@h)) or return 0;

        for my $ev (@{ $a->{sse} }) {
            my ($delay, $data) = ref $ev ? ($ev->{delay_ms}, $ev->{data})
                                         : (0, $ev);
            sleep $delay / 1000 if $delay;
            next unless defined $data && length $data;

            my $out = $chunked
                      ? sprintf("%x\r\n", length $data) . "$data\r\n"
                      : $data;

            write_all($c, $out) or return 0;
        }

        if ($a->{stall}) {
            stall($c, %o);
            return 0;
        }

        if ($a->{cut}) {
            $a->{cut} eq 'reset' ? reset_close($c) : close $c;
            return 0;
        }

        if (!$chunked) {
            close $c;
            return 0;
        }

        write_all($c, "0\r\n\r\n") or return 0;

        return !$close;
    }

    my $body = $a->{body};

    if (exists $a->{json}) {
        $body = $JSON->encode($a->{json});
        push @h, [ 'Content-Type', 'application/json' ]
            unless $has{'content-type'};
    }

    $body //= '';

    push @h, [ 'Content-Length', length $body ] unless $has{'content-length'};
    push @h, [ 'Connection', 'close' ] if $close && !$has{connection};

    write_all($c, _head($status, \@h) . $body) or return 0;

    return !$close;
}

sub _header_list {
    my ($h) = @_;
    return () unless $h;
    return @$h if ref $h eq 'ARRAY';
    return map { [ $_, $h->{$_} ] } sort keys %$h;
}

sub _head {
    my ($status, $h) = @_;
    my $reason = $REASON{$status} // 'Status';
    return "HTTP/1.1 $status $reason\r\n"
           . join('', map { "$_->[0]: $_->[1]\r\n" } @$h) . "\r\n";
}

sub write_all {
    my ($c, $data) = @_;
    my $off = 0;

    while ($off < length $data) {
        my $n = send $c, substr($data, $off), MSG_NOSIGNAL;
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN || $! == EWOULDBLOCK;
            return 0;
        }
        $off += $n;
    }

    return 1;
}

sub reset_close {
    my ($c) = @_;
    setsockopt $c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0);
    close $c;
}

# keep the connection open without answering, until the peer closes,
# 60s pass or the server goes away
sub stall {
    my ($c, %o) = @_;
    my $deadline = time + ($o{stall_timeout} // 60);

    alarm 0;

    while (time < $deadline) {
        return if $o{accept_pid} && getppid() != $o{accept_pid};
        next unless IO::Select->new($c)->can_read(0.5);
        my $n = sysread $c, my $buf, 65536;
        last if defined $n && $n == 0;
        last if !defined $n && $! != EINTR && $! != EAGAIN;
    }

    close $c;
}

# ---------------------------------------------------------------- OpenAI

sub default_action {
    my ($req, %o) = @_;
    my $path = $req->{path} // '';
    $path =~ s/\?.*//;

    if ($req->{method} eq 'POST' && $path =~ m{/v1/messages$}) {
        return anthropic_action($req, %o);
    }

    if ($req->{method} eq 'POST' && $path =~ m{/embeddings$}) {
        return embeddings_action($req, %o);
    }

    if ($req->{method} eq 'POST' && $path =~ m{/responses$}) {
        return responses_action($req, %o);
    }

    if ($req->{method} ne 'POST' || $path !~ m{/chat/completions$}) {
        return openai_error(404, "Unknown request URL: $req->{method} "
                            . "$req->{path}", 'invalid_request_error',
                            'unknown_url');
    }

    my $j = $req->{json};

    if (ref $j ne 'HASH') {
        return openai_error(400, 'We could not parse the JSON body of your '
                            . 'request.', 'invalid_request_error');
    }

    my $model = $j->{model} // 'mock-model';

    if (!$j->{stream}) {
        return {
            status => 200,
            json   => openai_completion($model, 'Hello from mock'),
        };
    }

    my $d = $o{stream_delay_ms} // 0;
    # asked for usage, OpenAI puts "usage": null in every other chunk
    my $asked = $j->{stream_options} && $j->{stream_options}{include_usage};
    my @ev = map { { delay_ms => $d,
                     data => sse_data(openai_chunk($model, $_, undef, $asked)) } }
             'Hello', ' from', ' mock';

    push @ev, { data => sse_data(openai_chunk($model, undef, 'stop', $asked)) };

    if ($asked) {
        push @ev, { data => sse_data({
            id      => 'chatcmpl-mock',
            object  => 'chat.completion.chunk',
            created => $CREATED,
            model   => $model,
            choices => [],
            usage   => { prompt_tokens => 11, completion_tokens => 3,
                         total_tokens => 14 },
        }) };
    }

    push @ev, { data => "data: [DONE]\n\n" };

    return { status => 200, sse => \@ev };
}

# Anthropic Messages: a message, or its event stream, "Hello from mock".
# Usage: 20 input, 5 cache read, 7 cache creation (5m), 4 output.

sub anthropic_usage {
    return {
        input_tokens                => 20,
        cache_read_input_tokens     => 5,
        cache_creation_input_tokens => 7,
        output_tokens               => 4,
    };
}

sub anthropic_message {
    my ($model, $content) = @_;

    return {
        id            => 'msg_mock',
        type          => 'message',
        role          => 'assistant',
        model         => $model,
        content       => $content // [ { type => 'text',
                                         text => 'Hello from mock' } ],
        stop_reason   => 'end_turn',
        stop_sequence => undef,
        usage         => anthropic_usage(),
    };
}

sub anthropic_event {
    my ($obj) = @_;
    return "event: $obj->{type}\ndata: " . $JSON->encode($obj) . "\n\n";
}

sub anthropic_action {
    my ($req, %o) = @_;
    my $j = $req->{json};

    if (ref $j ne 'HASH' || !defined $j->{model}) {
        return { status => 400, json => {
            type  => 'error',
            error => { type => 'invalid_request_error',
                       message => 'model: Field required' } } };
    }

    my $model = $j->{model};

    # a call of the first tool, until a tool result comes back
    my @msgs = @{ $j->{messages} // [] };
    my $answered = grep { ref $_->{content} eq 'ARRAY'
                          && grep { ($_->{type} // '') eq 'tool_result' }
                             @{ $_->{content} } } @msgs;

    # with thinking on, as Anthropic: the turn that used a tool must
    # start with its thinking block, signature and all
    my ($turn) = grep { ($_->{role} // '') eq 'assistant' } reverse @msgs;
    my $first = ref $turn->{content} eq 'ARRAY' ? $turn->{content}[0] : undef;

    if ($j->{thinking} && $answered
        && !($first && ($first->{type} // '') eq 'thinking'
             && ($first->{signature} // '') eq 'sig-mock'))
    {
        return { status => 400, json => {
            type  => 'error',
            error => { type => 'invalid_request_error',
                       message => 'messages: a final assistant message '
                                  . 'must start with a thinking block' } } };
    }

    my @thinking = $j->{thinking}
        ? ({ type => 'thinking', thinking => 'Let me think',
             signature => 'sig-mock' })
        : ();

    if ($j->{tools} && @{ $j->{tools} } && !$answered) {
        my $call = { type => 'tool_use', id => 'toolu_mock',
                     name => $j->{tools}[0]{name},
                     input => { city => 'Paris' } };

        return { status => 200, json => {
            %{ anthropic_message($model, [ @thinking, $call ]) },
            stop_reason => 'tool_use' } };
    }

    return { status => 200, json => anthropic_message($model,
             $answered ? [ { type => 'text', text => 'It is 21' } ] : undef) }
        unless $j->{stream};

    my $u = anthropic_usage();
    my $d = $o{stream_delay_ms} // 0;

    my @ev = (
        { type => 'message_start', message => {
            %{ anthropic_message($model, []) }, stop_reason => undef,
            usage => { %$u, output_tokens => 1 } } },
        { type => 'content_block_start', index => 0,
          content_block => { type => 'text', text => '' } },
        { type => 'ping' },
        (map { { type => 'content_block_delta', index => 0,
                 delta => { type => 'text_delta', text => $_ } } }
         'Hello', ' from', ' mock'),
        { type => 'content_block_stop', index => 0 },
        { type => 'message_delta',
          delta => { stop_reason => 'end_turn', stop_sequence => undef },
          usage => { output_tokens => 4 } },
        { type => 'message_stop' },
    );

    return { status => 200,
             headers => [ [ 'Content-Type', 'text/event-stream' ] ],
             sse => [ map { { delay_ms => $d, data => anthropic_event($_) } }
                      @ev ] };
}

# ------------------------------------------------------------ embeddings

# One vector per input, [0.5, 0.25, index]; 2 tokens per input. As
# OpenAI, base64 (little-endian float32) when the client asks it, as
# the official SDK does unless told otherwise.

sub embeddings_action {
    my ($req, %o) = @_;
    my $j = $req->{json};

    if (ref $j ne 'HASH' || !defined $j->{input}) {
        return openai_error(400, "'input' is a required property",
                            'invalid_request_error');
    }

    my @in = ref $j->{input} eq 'ARRAY' ? @{ $j->{input} } : ($j->{input});
    my $b64 = ($j->{encoding_format} // 'float') eq 'base64';
    my @data;

    for my $i (0 .. $#in) {
        my @v = (0.5, 0.25, $i);
        my $e = $b64 ? MIME::Base64::encode_base64(pack('f<*', @v), '')
                     : \@v;
        push @data, { object => 'embedding', index => $i, embedding => $e };
    }

    return { status => 200, json => {
        object => 'list',
        data   => \@data,
        model  => $j->{model} // 'mock-embedding',
        usage  => { prompt_tokens => 2 * @in, total_tokens => 2 * @in },
    } };
}

# ------------------------------------------------------------- Responses

# OpenAI's Responses API: "Hello from mock", or a call of the first tool
# when tools are given and no tool output came back yet ("It is 21" once
# one did). Usage: 11 input (2 cached), 3 output (1 reasoning).

sub responses_usage {
    return {
        input_tokens          => 11,
        input_tokens_details  => { cached_tokens => 2 },
        output_tokens         => 3,
        output_tokens_details => { reasoning_tokens => 1 },
        total_tokens          => 14,
    };
}

sub responses_object {
    my ($model, $status, $output, $usage) = @_;

    return {
        id         => 'resp_mock',
        object     => 'response',
        created_at => $CREATED,
        status     => $status,
        model      => $model,
        output     => $output,
        usage      => $usage,
    };
}

sub responses_action {
    my ($req, %o) = @_;
    my $j = $req->{json};

    if (ref $j ne 'HASH' || !defined $j->{model}) {
        return openai_error(400, "Missing required parameter: 'model'.",
                            'invalid_request_error');
    }

    my $model = $j->{model};
    my $answered = ref $j->{input} eq 'ARRAY'
        && grep { ref $_ eq 'HASH'
                  && ($_->{type} // '') eq 'function_call_output' }
           @{ $j->{input} };
    my $item;

    if ($j->{tools} && @{ $j->{tools} } && !$answered) {
        $item = { type => 'function_call', id => 'fc_mock',
                  call_id => 'call_mock', name => $j->{tools}[0]{name},
                  arguments => '{"city":"Paris"}', status => 'completed' };
    } else {
        $item = { type => 'message', id => 'msg_mock', role => 'assistant',
                  status => 'completed',
                  content => [ { type => 'output_text', annotations => [],
                                 text => $answered ? 'It is 21'
                                                   : 'Hello from mock' } ] };
    }

    return { status => 200, json => responses_object($model, 'completed',
                                                     [ $item ],
                                                     responses_usage()) }
        unless $j->{stream};

    my $d = $o{stream_delay_ms} // 0;
    my $seq = 0;
    my @ev = (
        { type => 'response.created',
          response => responses_object($model, 'in_progress', [], undef) },
        { type => 'response.in_progress',
          response => responses_object($model, 'in_progress', [], undef) },
        { type => 'response.output_item.added', output_index => 0,
          item => { %$item, content => [], status => 'in_progress' } },
        { type => 'response.content_part.added', item_id => 'msg_mock',
          output_index => 0, content_index => 0,
          part => { type => 'output_text', annotations => [], text => '' } },
        (map { { type => 'response.output_text.delta', item_id => 'msg_mock',
                 output_index => 0, content_index => 0, delta => $_ } }
         'Hello', ' from', ' mock'),
        { type => 'response.output_text.done', item_id => 'msg_mock',
          output_index => 0, content_index => 0, text => 'Hello from mock' },
        { type => 'response.content_part.done', item_id => 'msg_mock',
          output_index => 0, content_index => 0,
          part => $item->{content}[0] },
        { type => 'response.output_item.done', output_index => 0,
          item => $item },
        { type => 'response.completed',
          response => responses_object($model, 'completed', [ $item ],
                                       responses_usage()) },
    );

    return { status => 200,
             headers => [ [ 'Content-Type', 'text/event-stream' ] ],
             sse => [ map { { delay_ms => $d,
                              data => "event: $_->{type}\ndata: "
                                      . $JSON->encode({ %$_,
                                            sequence_number => $seq++ })
                                      . "\n\n" } } @ev ] };
}

sub openai_usage {
    return {
        prompt_tokens             => 11,
        completion_tokens         => 3,
        total_tokens              => 14,
        prompt_tokens_details     => { cached_tokens => 0 },
        completion_tokens_details => { reasoning_tokens => 0 },
    };
}

sub openai_completion {
    my ($model, $content, $usage) = @_;

    return {
        id      => 'chatcmpl-mock',
        object  => 'chat.completion',
        created => $CREATED,
        model   => $model,
        choices => [ {
            index         => 0,
            message       => { role => 'assistant', content => $content },
            finish_reason => 'stop',
        } ],
        usage   => $usage // openai_usage(),
    };
}

sub openai_chunk {
    my ($model, $content, $finish_reason, $usage_null) = @_;

    return $JSON->encode({
        id      => 'chatcmpl-mock',
        object  => 'chat.completion.chunk',
        created => $CREATED,
        model   => $model,
        choices => [ {
            index         => 0,
            delta         => defined $content ? { content => $content } : {},
            finish_reason => $finish_reason,
        } ],
        $usage_null ? (usage => undef) : (),
    });
}

sub openai_error {
    my ($status, $message, $type, $code) = @_;

    return {
        status => $status,
        json   => { error => { message => $message,
                               type    => $type // 'api_error',
                               param   => undef,
                               code    => $code } },
    };
}

sub sse_data {
    my ($x) = @_;
    my $text = ref $x ? $JSON->encode($x) : $x;
    return "data: $text\n\n";
}

1;

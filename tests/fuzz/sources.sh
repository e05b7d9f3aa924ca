# The project sources each fuzz target is built from, for tests/fuzz/run.sh
# (clang, libFuzzer) and tests/e2e/fuzz_regress.sh (gcc, the replay driver,
# linked from exactly these objects, so a missing file fails `make check`
# instead of the next `make fuzz`).  Sourced, not run.
fuzz_sources() {
    case $1 in
    decode) echo src/net/decode.c src/net/ipfrag.c src/addr.c src/limits.c ;;
    http)   echo src/app/http.c src/app/http_pair.c src/app/http_framing.c src/app/http_scan.c src/addr.c src/limits.c ;;
    stream) echo src/net/flow.c src/net/reasm.c src/app/http.c src/app/http_pair.c src/app/http_framing.c src/app/http_scan.c src/addr.c src/limits.c ;;
    cors)   echo src/cors/cors.c src/cors/cors_lists.c src/cors/cors_text.c src/cors/cors_sb.c ;;
    pcapfile) echo src/net/pcapfile.c ;;
    stored) echo src/report/stored.c ;;
    tls)    echo src/app/tls_conn.c src/app/tls_hs.c src/app/tls_keys.c src/app/tls_keylog.c src/app/tls_ahead.c ;;
    h2)     echo src/app/h2_frame.c src/app/h2_conn.c src/app/h2_hpack.c src/app/h2_stream.c src/limits.c ;;
    handover) echo src/net/decode.c src/net/ipfrag.c src/net/flow.c src/net/reasm.c \
                  src/app/pipeline.c src/app/app_handover.c src/app/app_http1.c src/app/app_tls.c src/app/app_h2.c src/app/dpi.c \
                  src/app/http.c src/app/http_pair.c src/app/http_framing.c src/app/http_scan.c \
                  src/app/h2_frame.c src/app/h2_conn.c src/app/h2_hpack.c src/app/h2_stream.c \
                  src/app/tls_conn.c src/app/tls_hs.c src/app/tls_keys.c src/app/tls_keylog.c src/app/tls_ahead.c \
                  src/addr.c src/limits.c src/stats.c ;;
    esac
}

# The include paths the targets need (every layer's folder: a fuzz target
# may drive any of them).
fuzz_includes() {
    echo -Iinclude -iquote src -iquote src/net -iquote src/app -iquote src/cors -iquote src/report
}

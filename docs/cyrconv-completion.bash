# bash completion for cyrconv (installed as share/bash-completion/completions/cyrconv).
# tests/e2e/docs_check.py checks these option lists against `cyrconv SUBCOMMAND --help`.

_cyrconv() {
    local cur prev words cword
    _init_completion || return

    local input="--spool --partition --archive-partition --config --imapd-conf --root --unixhierarchysep --threads --io-depth --help"
    local output="--quiet --log"
    local -A opts=(
        [scan]="$input $output --json --json-file"
        [audit]="$input $output --verbose --report --html --on-corrupt --deep"
        [convert]="$input $output --verbose --format --out --users --profile --eol --on-corrupt --sync --skip-deleted --split-bytes --split-messages --zimbra-max-line-length --zimbra-quota --zimbra-part-size --dry-run --follow-source --no-space-check --gzip --deep --rename-map --owner --report --html --plan --shard"
        [verify]="$input $output --verbose --out --format --users --profile --rename-map --eol --report --html --zimbra-counts --zimbra-expected"
        [plan]="$input --shards --out --split-bytes --split-messages"
        [merge]="--plan --out --rename-map --help"
        [html]="--out --help"
    )

    # The subcommand: the first word that names one ("report merge" counts as merge).
    local sub="" i
    for ((i = 1; i < cword; i++)); do
        case "${words[i]}" in
            scan|audit|convert|verify|plan) sub=${words[i]}; break ;;
            report) sub=report ;;
            merge) [[ $sub == report ]] && { sub=merge; break; } ;;
            html) [[ $sub == report ]] && { sub=html; break; } ;;
        esac
    done

    case "$prev" in
        --spool|--config|--out|--root)
            if [[ $sub == plan ]] && [[ $prev == --out ]]; then _filedir; else _filedir -d; fi
            return ;;
        --report|--json-file|--log|--rename-map|--plan|--owner|--imapd-conf|--html) _filedir; return ;;
        --unixhierarchysep) COMPREPLY=($(compgen -W "yes no" -- "$cur")); return ;;
        --format)
            if [[ $sub == verify ]]; then COMPREPLY=($(compgen -W "maildir mbox" -- "$cur"))
            else COMPREPLY=($(compgen -W "maildir mbox zimbra-tgz" -- "$cur")); fi
            return ;;
        --profile) COMPREPLY=($(compgen -W "dovecot zimbra generic" -- "$cur")); return ;;
        --eol) COMPREPLY=($(compgen -W "lf crlf" -- "$cur")); return ;;
        --on-corrupt) COMPREPLY=($(compgen -W "repair quarantine fail" -- "$cur")); return ;;
        --sync) COMPREPLY=($(compgen -W "none folder message" -- "$cur")); return ;;
        --partition|--archive-partition|--threads|--io-depth|--users|--split-bytes|--split-messages|--shard|--shards|--zimbra-max-line-length|--zimbra-quota|--zimbra-part-size)
            return ;;
    esac

    case "$sub" in
        "") COMPREPLY=($(compgen -W "scan audit convert verify plan report --help --version" -- "$cur")) ;;
        report) COMPREPLY=($(compgen -W "merge html" -- "$cur")) ;;
        merge|html)
            if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "${opts[$sub]}" -- "$cur")); else _filedir json; fi ;;
        *) COMPREPLY=($(compgen -W "${opts[$sub]}" -- "$cur")) ;;
    esac
}
complete -F _cyrconv cyrconv
